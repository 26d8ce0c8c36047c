//! The parameter map the server's `ApiServlet` builds from a request, before verification.
//!
//! Sans-IO: query string and form body in, one value per name out.
//!
//! 1. `params.putAll(req.getParameterMap())`: the servlet container's map holds every name of the
//!    query string and of an `application/x-www-form-urlencoded` body, each with all its values,
//!    query values first; the server reads value `[0]` of each.
//! 2. `utf8Fixup`: the query string is split again on `&` and `=` (tokens without `=` skipped),
//!    each side `URLDecoder.decode`d, and `params.put(name, new String[]{value})` overwrites the
//!    entry — so for a name repeated in the query string the **last** value wins, and a query
//!    value beats a body value of the same name.
//!
//! The signature is then checked over exactly this map, so a client that signs over a different
//! choice of value than the server's gets a 401, as it would from the server.

use std::collections::BTreeMap;

use crate::command::percent_decode;

fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split('&').filter(|t| !t.is_empty())
}

/// The verified request's parameter map: see the module docs.
pub(crate) fn servlet_params(query: &str, form_body: Option<&str>) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    // the container's map: value [0] is the first occurrence, query before body
    for t in tokens(query).chain(form_body.into_iter().flat_map(tokens)) {
        let (k, v) = t.split_once('=').unwrap_or((t, ""));
        params
            .entry(percent_decode(k, true))
            .or_insert_with(|| percent_decode(v, true));
    }
    // utf8Fixup: the query string's pairs overwrite, the last one of a name winning
    for t in tokens(query) {
        if let Some((k, v)) = t.split_once('=') {
            params.insert(percent_decode(k, true), percent_decode(v, true));
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_query_value_wins() {
        let p = servlet_params("command=listZones&name=a&name=b", None);
        assert_eq!(p["name"], "b");
        assert_eq!(p["command"], "listZones");
    }

    #[test]
    fn query_beats_body_and_body_keeps_its_first() {
        let p = servlet_params("name=q", Some("name=b1&id=1&id=2&zone+id=%2Fx"));
        assert_eq!(p["name"], "q");
        assert_eq!(p["id"], "1");
        assert_eq!(p["zone id"], "/x");
    }

    #[test]
    fn token_without_equals_is_an_empty_value() {
        let p = servlet_params("flag&command=listZones", None);
        assert_eq!(p["flag"], "");
    }
}
