//! CloudStack API answers: the envelope reader for any HTTP status (error bodies, `429` retry
//! hints, decode errors with their excerpt), list pages, the pager walking them, single objects
//! and the typed views. Never panics; a pager's count of items seen is the sum of what it
//! returned, and a walk ends once a page is empty.
#![no_main]

use cloudstack_client::paginate::Pager;
use cloudstack_client::response::{
    extract_url, lenient_bool, lenient_string, lenient_u64, list_page, parse, single_object,
    unwrap_envelope,
};
use cloudstack_client::{Params, types};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let header = std::str::from_utf8(data).ok();
    for status in [200, 401, 429, 431, 530] {
        let _ = parse("listTemplates", status, data, None);
        let _ = parse("deployVirtualMachine", status, data, header);
    }
    let Ok(json) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let inner = unwrap_envelope("listTemplates", &json).unwrap_or(&json);
    let page = list_page(inner);
    for v in &page.items {
        let _ = lenient_u64(v);
        let _ = lenient_string(v);
        let _ = lenient_bool(v);
        if let Some(s) = v.as_str() {
            let _ = extract_url(s);
        }
        let _ = serde_json::from_value::<types::Template>(v.clone());
        let _ = serde_json::from_value::<types::VirtualMachine>(v.clone());
        let _ = serde_json::from_value::<types::Zone>(v.clone());
        let _ = serde_json::from_value::<types::AsyncJob>(v.clone());
    }
    let _ = single_object(inner);
    let _ = serde_json::from_value::<types::JobStarted>(inner.clone());

    let mut pager = Pager::new("listTemplates", Params::new(), 2).expect("no page parameter");
    let mut total = 0u64;
    for _ in 0..4 {
        if pager.next_request().is_none() {
            break;
        }
        let n = pager.feed(inner).len() as u64;
        total += n;
        assert_eq!(pager.seen(), total);
        if n == 0 {
            assert!(pager.next_request().is_none());
        }
    }
});
