//! Printing results: JSON, or one line per item for lists.

use serde_json::Value;

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| cloudstack_client::response::lenient_string(v.get(*k)?))
}

/// Prints list items: a JSON array, or `id  name  state` lines.
pub(crate) fn print_list(items: &[Value], json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(items).unwrap_or_default()
        );
        return;
    }
    for item in items {
        let id = text(item, &["id", "jobid"]).unwrap_or_else(|| "-".into());
        let name = text(item, &["name", "displaytext", "description", "cmd"]).unwrap_or_default();
        let state =
            text(item, &["state", "status", "allocationstate", "jobstatus"]).unwrap_or_default();
        println!("{id}\t{name}\t{state}");
    }
    eprintln!("{} item(s)", items.len());
}

/// Prints a single result: compact keys on a TTY-less pipe are still pretty JSON (easy for jq).
pub(crate) fn print_value(v: &Value, _json: bool) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}
