//! Helpers shared by the integration tests.

pub use test_support::http::serve_bytes;
pub use test_support::package::small_ova as make_ova;
pub use test_support::tools::python_with;

use cloudstack_client::types::Template;
use cloudstack_client::{Client, Params, Result};

/// Registers `url` as the VMware OVA template `name` in the first zone, with the first OS type:
/// the answer of `registerTemplate` (the download has not finished).
pub async fn register_ova(cs: &Client, name: &str, url: &str) -> Result<Template> {
    let zone = cs.list_zones(Params::new()).await?.remove(0);
    let os = cs.list_os_types(Params::new()).await?.remove(0);
    cs.register_template(Params::from([
        ("name", name),
        ("displaytext", name),
        ("format", "OVA"),
        ("hypervisor", "VMware"),
        ("ostypeid", os.id.as_str()),
        ("zoneid", zone.id.as_str()),
        ("url", url),
    ]))
    .await
}
