//! Request parameters: an ordered list of unique names with logical (unencoded) values.

/// Names the client sets itself; users may not pass them.
pub(crate) const RESERVED: &[&str] = &[
    "command",
    "apikey",
    "signature",
    "response",
    "signatureversion",
    "expires",
    "sessionkey",
];

/// Ordered request parameters with unique names (compared ignoring ASCII case, as the server
/// lowercases names after verifying the signature).
///
/// Values are logical strings; encoding happens when the request is signed and sent.
///
/// # Examples
/// ```
/// use cloudstack_client::Params;
/// let p = Params::new().set("templatefilter", "self").set("zoneid", "1");
/// assert_eq!(p.get("TemplateFilter"), Some("self"));
/// let p = p.set("zoneid", "2"); // replaces, never duplicates
/// assert_eq!(p.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Empty parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing an existing value of the same name (any case).
    pub fn set(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.insert(name, value);
        self
    }

    /// Like [`Params::set`], in place.
    pub fn insert(&mut self, name: impl Into<String>, value: impl ToString) {
        let name = name.into();
        let value = value.to_string();
        match self
            .pairs
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&name))
        {
            Some(slot) => *slot = (name, value),
            None => self.pairs.push((name, value)),
        }
    }

    /// Removes `name` (any case) and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self
            .pairs
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))?;
        Some(self.pairs.remove(i).1)
    }

    /// The value of `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// `true` when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The `(name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses `key=value` words (as typed on a command line).
    ///
    /// # Errors
    /// Returns the offending word when it has no `=` or an empty name.
    pub fn from_kv_args<I, S>(args: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut p = Params::new();
        for a in args {
            let a = a.as_ref();
            match a.split_once('=') {
                Some((k, v)) if !k.is_empty() => p.insert(k, v),
                _ => return Err(a.to_owned()),
            }
        }
        Ok(p)
    }
}

impl<K: Into<String>, V: ToString> FromIterator<(K, V)> for Params {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut p = Params::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

impl<K: Into<String>, V: ToString, const N: usize> From<[(K, V); N]> for Params {
    fn from(a: [(K, V); N]) -> Self {
        a.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_any_case() {
        let p = Params::new()
            .set("zoneId", "1")
            .set("ZONEID", "2")
            .set("a", 3);
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![("ZONEID", "2"), ("a", "3")]
        );
        let mut p = p;
        assert_eq!(p.remove("zoneid").as_deref(), Some("2"));
        assert_eq!(p.len(), 1);
        assert!(!p.is_empty());
    }

    #[test]
    fn kv_args() {
        let p = Params::from_kv_args(["a=1", "b=x=y", "c="]).unwrap();
        assert_eq!(p.get("b"), Some("x=y"));
        assert_eq!(p.get("c"), Some(""));
        assert_eq!(Params::from_kv_args(["novalue"]), Err("novalue".into()));
        assert_eq!(Params::from_kv_args(["=v"]), Err("=v".into()));
    }
}
