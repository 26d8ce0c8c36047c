//! Response parsing (sans-IO): envelope unwrapping, error bodies, list pages, lenient scalars.

use serde_json::{Map, Value};

use crate::{Error, Result};

/// Parses a response body for `command`.
///
/// * HTTP 200: returns the value under `<command>response` (lowercased), or under the only/first
///   key ending in `response` — a sibling key such as `cloudstack-version` is ignored.
/// * any other status: maps the `errorcode`/`cserrorcode`/`errortext` of the body (or, when the body
///   is not JSON, the `X-Description` header) to [`Error::Unauthorized`] (401), [`Error::Throttled`]
///   (429) or [`Error::Api`].
///
/// # Errors
/// The mapped server error, or [`Error::Decode`] (with a short excerpt) for an unreadable body.
///
/// # Examples
/// ```
/// let v = cloudstack_client::response::parse("listZones", 200, br#"{"listzonesresponse":{}}"#, None).unwrap();
/// assert_eq!(v, serde_json::json!({}));
/// ```
pub fn parse(
    command: &str,
    http_status: u16,
    body: &[u8],
    x_description: Option<&str>,
) -> Result<Value> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if http_status != 200 {
        let inner = json.as_ref().and_then(|j| unwrap_envelope(command, j));
        let errorcode = inner
            .and_then(|i| i.get("errorcode"))
            .and_then(lenient_u64)
            .map(|c| c as u32);
        let errortext = inner
            .and_then(|i| i.get("errortext"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| x_description.map(str::to_owned));
        let Some(errortext) = errortext else {
            let reason = format!("http status {http_status} without a cloudstack error body");
            return Err(Error::decode(command, http_status, reason, body));
        };
        let cserrorcode = inner
            .and_then(|i| i.get("cserrorcode"))
            .and_then(lenient_u64)
            .map(|c| c as u32);
        return Err(server_error(
            command,
            http_status,
            errorcode.unwrap_or(u32::from(http_status)),
            cserrorcode,
            errortext,
        ));
    }
    let Some(json) = json else {
        return Err(Error::decode(
            command,
            http_status,
            "body is not json",
            body,
        ));
    };
    // moved out of the parsed body, not cloned: a list answer is most of the body
    match take_envelope(command, json) {
        Some(v) => Ok(v),
        None => Err(Error::decode(
            command,
            http_status,
            "no <command>response key",
            body,
        )),
    }
}

/// Builds the error for a non-200 answer.
pub(crate) fn server_error(
    command: &str,
    http_status: u16,
    errorcode: u32,
    cserrorcode: Option<u32>,
    errortext: String,
) -> Error {
    let command = command.to_owned();
    match http_status {
        401 => Error::Unauthorized { command, errortext },
        429 => Error::Throttled {
            command,
            retry_after: crate::retry::parse_retry_after(&errortext),
            errortext,
        },
        _ => Error::Api {
            command,
            http_status,
            errorcode,
            cserrorcode,
            errortext,
        },
    }
}

/// Selects the `<command>response` object of a body (case-insensitive), else the first key ending in
/// `response`.
pub fn unwrap_envelope<'a>(command: &str, body: &'a Value) -> Option<&'a Value> {
    let obj = body.as_object()?;
    obj.get(envelope_key(command, obj)?)
}

/// [`unwrap_envelope`], taking the object out of the body.
fn take_envelope(command: &str, body: Value) -> Option<Value> {
    let Value::Object(mut obj) = body else {
        return None;
    };
    let key = envelope_key(command, &obj)?.to_owned();
    obj.remove(&key)
}

/// The key [`unwrap_envelope`] selects.
fn envelope_key<'a>(command: &str, obj: &'a Map<String, Value>) -> Option<&'a str> {
    const SUFFIX: &[u8] = b"response";
    let (c, n) = (command.as_bytes(), command.len());
    // byte-wise ASCII case folding: the same verdicts as comparing lowercased copies
    let is_command = |k: &str| {
        let k = k.as_bytes();
        k.len() == n + SUFFIX.len()
            && k[..n].eq_ignore_ascii_case(c)
            && k[n..].eq_ignore_ascii_case(SUFFIX)
    };
    let ends_in_response = |k: &str| {
        let k = k.as_bytes();
        k.len() >= SUFFIX.len() && k[k.len() - SUFFIX.len()..].eq_ignore_ascii_case(SUFFIX)
    };
    obj.keys()
        .find(|k| is_command(k))
        .or_else(|| obj.keys().find(|k| ends_in_response(k)))
        .map(String::as_str)
}

/// One page of a list response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPage {
    /// The items on this page (`{}` gives none).
    pub items: Vec<Value>,
    /// The server's `count`: total matches (not page length), when sent.
    pub count: Option<u64>,
}

/// Reads a list response: `count` (optional, number or string) and the array under the item key
/// (the first array-valued field, whatever its name). `{}` is an empty list.
///
/// # Examples
/// ```
/// use serde_json::json;
/// let page = cloudstack_client::response::list_page(&json!({"count": 2, "zone": [{"id": 1}, {"id": "b"}]}));
/// assert_eq!((page.items.len(), page.count), (2, Some(2)));
/// assert!(cloudstack_client::response::list_page(&json!({})).items.is_empty());
/// ```
pub fn list_page(inner: &Value) -> ListPage {
    let Some(obj) = inner.as_object() else {
        return ListPage::default();
    };
    let count = obj.get("count").and_then(lenient_u64);
    let items = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "count")
        .find_map(|(_, v)| v.as_array())
        .cloned()
        .unwrap_or_default();
    ListPage { items, count }
}

/// The single object of a response such as `{"template": {…}}` / `{"template": [{…}]}` or the
/// async `jobresult`: the value of the first object- or array-valued field (first element of an
/// array). Returns `inner` itself when it has no such field.
pub fn single_object(inner: &Value) -> Value {
    if let Some(obj) = inner.as_object() {
        for (k, v) in obj {
            if k == "count" {
                continue;
            }
            match v {
                Value::Object(_) => return v.clone(),
                Value::Array(a) => {
                    if let Some(first) = a.first().filter(|f| f.is_object()) {
                        return first.clone();
                    }
                }
                _ => {}
            }
        }
    }
    inner.clone()
}

/// A number or numeric string as `u64`.
pub fn lenient_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An id or other scalar as a string (`17164` and `"17164"` are the same id).
pub fn lenient_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `true`/`false` or their string forms.
pub fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Reads a field of an object leniently as string.
pub(crate) fn field_string(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(lenient_string)
}

/// Undoes the `%2F` that CloudStack 2.2/3.0 wrote into extract URLs (`https:%2F%2Fhost%2Fpath`).
///
/// Only applies when the value contains no `://` (a modern, plain URL is returned unchanged, so a
/// real `%2F` inside it survives). A leading `http%3A`/`https%3A` (from `encode.api.response`) is
/// decoded too.
///
/// # Examples
/// ```
/// use cloudstack_client::response::extract_url;
/// assert_eq!(extract_url("https:%2F%2Fh.example%2Fuserdata%2Fa.ova"), "https://h.example/userdata/a.ova");
/// assert_eq!(extract_url("https://h.example/a%2Fb.ova"), "https://h.example/a%2Fb.ova");
/// ```
pub fn extract_url(raw: &str) -> String {
    if raw.contains("://") {
        return raw.to_owned();
    }
    let mut s = raw.replace("%2F", "/").replace("%2f", "/");
    for scheme in ["http", "https"] {
        for colon in ["%3A", "%3a"] {
            let prefix = format!("{scheme}{colon}//");
            if let Some(rest) = s.strip_prefix(&prefix) {
                s = format!("{scheme}://{rest}");
            }
        }
    }
    s
}

/// Pulls the error fields out of a job result object.
pub(crate) fn error_fields(obj: &Map<String, Value>) -> (Option<u32>, Option<String>) {
    (
        obj.get("errorcode").and_then(lenient_u64).map(|c| c as u32),
        obj.get("errortext")
            .and_then(Value::as_str)
            .map(str::to_owned),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The envelope rule on lowercased copies, as it was first written.
    fn envelope_key_reference<'a>(command: &str, obj: &'a Map<String, Value>) -> Option<&'a str> {
        let want = format!("{}response", command.to_ascii_lowercase());
        obj.keys()
            .find(|k| k.eq_ignore_ascii_case(&want))
            .or_else(|| {
                obj.keys()
                    .find(|k| k.to_ascii_lowercase().ends_with("response"))
            })
            .map(String::as_str)
    }

    proptest! {
        #[test]
        fn envelope_key_is_the_lowercased_rule(
            command in "[a-zA-Z\u{e9}\u{130}]{0,12}",
            keys in proptest::collection::vec(
                "[a-zA-Z\u{e9}\u{130}-]{0,6}(response|RESPONSE|Response|respons|\u{130}esponse)?",
                0..5,
            ),
            with_command_key in any::<bool>(),
        ) {
            let mut obj: Map<String, Value> = keys.into_iter().map(|k| (k, json!(1))).collect();
            if with_command_key {
                obj.insert(format!("{}RESPONSE", command.to_ascii_uppercase()), json!(2));
            }
            prop_assert_eq!(envelope_key(&command, &obj), envelope_key_reference(&command, &obj));
            let body = Value::Object(obj);
            let taken = take_envelope(&command, body.clone());
            prop_assert_eq!(taken.as_ref(), unwrap_envelope(&command, &body));
        }
    }

    #[test]
    fn envelope_with_sibling_key() {
        let body = br#"{ "deployvirtualmachineresponse" : {"jobid":"a","id":"b"}, "cloudstack-version" : "4.1.0" }"#;
        let v = parse("deployVirtualMachine", 200, body, None).unwrap();
        assert_eq!(v["jobid"], "a");
        let body = br#"{"cloudstack-version":"4.1","restorevmresponse":{"jobid":"x"}}"#;
        assert_eq!(
            parse("restoreVirtualMachine", 200, body, None).unwrap()["jobid"],
            "x"
        );
    }

    #[test]
    fn errors_mapped() {
        let body = br#"{"errorresponse":{"errorcode":401,"cserrorcode":9999,"errortext":"unable to verify user credentials and/or request signature","uuidList":[]}}"#;
        assert!(matches!(
            parse("listZones", 401, body, None),
            Err(Error::Unauthorized { .. })
        ));
        let body = br#"{ "deployvirtualmachineresponse" : {"errorcode" : 431, "errortext" : "Unable to find service offering: 104"}  }"#;
        match parse("deployVirtualMachine", 431, body, None) {
            Err(Error::Api {
                errorcode: 431,
                http_status: 431,
                cserrorcode: None,
                errortext,
                ..
            }) => assert!(errortext.contains("104")),
            other => panic!("{other:?}"),
        }
        let body = br#"{"listzonesresponse":{"errorcode":"429","errortext":"The given user has reached his/her account api limit, please retry after 218 ms."}}"#;
        match parse("listZones", 429, body, None) {
            Err(Error::Throttled { retry_after, .. }) => {
                assert_eq!(retry_after, Some(std::time::Duration::from_millis(218)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_json_bodies() {
        match parse("listZones", 502, b"<html>Bad Gateway</html>", None) {
            Err(Error::Decode {
                http_status: 502,
                excerpt,
                ..
            }) => assert!(excerpt.contains("Bad Gateway")),
            other => panic!("{other:?}"),
        }
        match parse("listZones", 530, b"<html/>", Some("Internal error")) {
            Err(Error::Api {
                errortext,
                errorcode: 530,
                ..
            }) => assert_eq!(errortext, "Internal error"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("listZones", 200, b"nope", None),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            parse("listZones", 200, b"{\"a\":1}", None),
            Err(Error::Decode { .. })
        ));
        let long = vec![b'x'; 10_000];
        match parse("listZones", 200, &long, None) {
            Err(Error::Decode { excerpt, .. }) => assert_eq!(excerpt.len(), 200),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_and_scalars() {
        assert_eq!(list_page(&json!({"count": "3", "x": [1]})).count, Some(3));
        assert_eq!(
            list_page(&json!({"x": [1, 2]})),
            ListPage {
                items: vec![json!(1), json!(2)],
                count: None
            }
        );
        assert_eq!(lenient_string(&json!(17164)).as_deref(), Some("17164"));
        assert_eq!(lenient_bool(&json!("true")), Some(true));
        assert_eq!(lenient_u64(&json!(2.0)), Some(2));
        assert_eq!(
            single_object(&json!({"count": 1, "template": [{"id": "t"}]})),
            json!({"id": "t"})
        );
        assert_eq!(
            single_object(&json!({"virtualmachine": {"id": "v"}})),
            json!({"id": "v"})
        );
        assert_eq!(
            single_object(&json!({"success": true})),
            json!({"success": true})
        );
    }

    #[test]
    fn extract_urls() {
        assert_eq!(
            extract_url("https:%2F%2F72-52-126-96.realhostip.com%2Fuserdata%2Ff.vhd"),
            "https://72-52-126-96.realhostip.com/userdata/f.vhd"
        );
        assert_eq!(extract_url("https%3A%2F%2Fh%2Fa"), "https://h/a");
        assert_eq!(extract_url("http://h/a%2Fb"), "http://h/a%2Fb");
        assert_eq!(extract_url(""), "");
    }
}
