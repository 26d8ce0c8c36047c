//! A fixed number of signed `listZones` calls against the in-process CloudStack simulator, for
//! counting instructions with `perf stat` / `perf record` (see `benches/scripts/cloudstack_instructions.sh`).
//!
//! ```text
//! cloudstack_calls CALLS
//! ```
//!
//! The client runs on the main thread (a current-thread runtime, as in the `cloudstack` bench); the
//! simulator on threads named `cloudstack-simulator`, so a profile sorted by thread name separates
//! the client's cost from the simulator's. Start-up (runtime, simulator, client, first connection)
//! is the same for every CALLS; the script takes the difference of two runs to get the cost per call.

use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use cloudstack_client::{Client, Params};

fn main() {
    let calls: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("usage: cloudstack_calls CALLS");
            std::process::exit(2)
        });
    let sim = Simulator::start(SimulatorConfig::default()).expect("simulator");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client: Client = sim.client_builder().build().expect("client");
    let params = Params::new();
    rt.block_on(async {
        // the first call opens the pooled connection; it is part of the fixed start-up
        client.request("listZones", &params).await.expect("call");
        for _ in 0..calls {
            let zones = client.request("listZones", &params).await.expect("call");
            std::hint::black_box(zones);
        }
    });
}
