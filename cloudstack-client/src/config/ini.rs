//! The ini dialect of Python's `configparser.ConfigParser` (what the `cs` package reads
//! `cloudstack.ini` with), sans-IO.
//!
//! Rules: `[section]` headers (the name is what lies between the first `[` and the last `]`,
//! unstripped); `key = value` or `key: value` split at the first `=` or `:`; keys lowercased and
//! stripped, values stripped; full-line comments starting with `#` or `;` (no inline comments);
//! a more indented line continues the previous value (joined with a newline); `[DEFAULT]` supplies
//! every section's defaults; a section or key repeated within one file is an error, while a later
//! file overrides an earlier one key by key; `%%` is a literal `%` and `%(key)s` the value of
//! another key of the section (or `[DEFAULT]`), anything else after `%` is an error.

use std::collections::BTreeMap;

/// The sections read so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ini {
    defaults: BTreeMap<String, String>,
    sections: BTreeMap<String, BTreeMap<String, String>>,
}

/// `[DEFAULT]`, the section every other section inherits from.
const DEFAULT: &str = "DEFAULT";

impl Ini {
    /// Reads one file's text (`name` is used in errors), merging into what earlier files set.
    ///
    /// # Errors
    /// A text naming the file and line of a header-less key, a line that is not `key = value`, or
    /// a section or key repeated within the file.
    pub(crate) fn read(&mut self, name: &str, text: &str) -> Result<(), String> {
        let mut seen_sections: Vec<String> = Vec::new();
        let mut seen_keys: Vec<(String, String)> = Vec::new();
        // the key being read: (key, its indent, its lines)
        let mut current: Option<String> = None;
        let mut option: Option<(String, usize, Vec<String>)> = None;
        let err = |n: usize, what: &str| format!("{name}, line {}: {what}", n + 1);
        for (n, line) in text.lines().enumerate() {
            let stripped = line.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                if let Some((_, _, lines)) = option.as_mut() {
                    lines.push(String::new());
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let Some((_, level, lines)) = option.as_mut()
                && indent > *level
            {
                lines.push(stripped.to_owned());
                continue;
            }
            self.flush(current.as_deref(), &mut option);
            if let Some(rest) = stripped.strip_prefix('[')
                && let Some(end) = rest.rfind(']')
                && end > 0
            {
                let s = rest[..end].to_owned();
                if s != DEFAULT && seen_sections.contains(&s) {
                    return Err(err(n, &format!("section [{s}] appears twice")));
                }
                seen_sections.push(s.clone());
                self.section_mut(&s);
                current = Some(s);
                continue;
            }
            let Some(section) = &current else {
                return Err(err(n, "a key before any [section] header"));
            };
            let Some(i) = stripped.find(['=', ':']) else {
                return Err(err(n, "expected `key = value`"));
            };
            let key = stripped[..i].trim_end().to_lowercase();
            if key.is_empty() {
                return Err(err(n, "a value without a key"));
            }
            let pair = (section.clone(), key.clone());
            if seen_keys.contains(&pair) {
                return Err(err(n, &format!("key {key:?} appears twice in [{section}]")));
            }
            seen_keys.push(pair);
            option = Some((key, indent, vec![stripped[i + 1..].trim().to_owned()]));
        }
        self.flush(current.as_deref(), &mut option);
        Ok(())
    }

    fn flush(&mut self, section: Option<&str>, option: &mut Option<(String, usize, Vec<String>)>) {
        if let (Some(s), Some((k, _, lines))) = (section, option.take()) {
            let v = lines.join("\n").trim_end().to_owned();
            self.section_mut(s).insert(k, v);
        }
    }

    fn section_mut(&mut self, s: &str) -> &mut BTreeMap<String, String> {
        if s == DEFAULT {
            &mut self.defaults
        } else {
            self.sections.entry(s.to_owned()).or_default()
        }
    }

    /// `true` when `section` was read (`[DEFAULT]` is not a section).
    #[cfg(test)]
    pub(crate) fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }

    /// The section's keys merged over `[DEFAULT]`'s, interpolated; `None` for a missing section.
    ///
    /// # Errors
    /// A text for a malformed `%` or a reference to a missing key.
    pub(crate) fn items(&self, section: &str) -> Option<Result<BTreeMap<String, String>, String>> {
        let own = self.sections.get(section)?;
        let mut raw = self.defaults.clone();
        raw.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        Some(
            raw.iter()
                .map(|(k, v)| Ok((k.clone(), interpolate(section, k, v, &raw, 1)?)))
                .collect(),
        )
    }

    /// Every section (not `[DEFAULT]`) with its own keys, uninterpolated.
    pub(crate) fn sections(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.sections
    }
}

/// configparser's `BasicInterpolation` (at most 10 levels deep).
fn interpolate(
    section: &str,
    key: &str,
    value: &str,
    vars: &BTreeMap<String, String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 10 {
        return Err(format!(
            "[{section}] {key}: %(...)s references nest too deeply"
        ));
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(')
            && let Some(end) = r.find(")s")
        {
            let name = r[..end].to_lowercase();
            let v = vars.get(&name).ok_or_else(|| {
                format!("[{section}] {key}: %({name})s names no key of the section")
            })?;
            out.push_str(&interpolate(section, &name, v, vars, depth + 1)?);
            rest = &r[end + 2..];
        } else {
            return Err(format!(
                "[{section}] {key}: '%' must be followed by '%' or '(' (write a literal % as %%)"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        ini.read("t.ini", text)?;
        Ok(ini)
    }

    #[test]
    fn sections_keys_and_values() {
        let ini = read(
            "; c\n[cloudstack]\nEndpoint = http://h:1/p\nkey: a=b\n  # not a comment inside? no: comment\nsecret = s # not a comment\n[ spaced ]\nx=1\n[a] trailing\ny=2\n",
        )
        .unwrap();
        let s = ini.items("cloudstack").unwrap().unwrap();
        assert_eq!(s["endpoint"], "http://h:1/p");
        assert_eq!(s["key"], "a=b");
        assert_eq!(s["secret"], "s # not a comment");
        assert!(ini.has_section(" spaced "));
        assert!(!ini.has_section("spaced"));
        assert_eq!(ini.items("a").unwrap().unwrap()["y"], "2");
        assert!(ini.items("missing").is_none());
    }

    #[test]
    fn defaults_continuations_and_interpolation() {
        let ini = read(
            "[DEFAULT]\ntimeout = 30\nhost = h.example\n[p]\nendpoint = https://%(host)s/client/api\nsecret = 100%%\nmulti = a\n  b\n\n  c\nnext = 1\n",
        )
        .unwrap();
        let p = ini.items("p").unwrap().unwrap();
        assert_eq!(p["timeout"], "30");
        assert_eq!(p["endpoint"], "https://h.example/client/api");
        assert_eq!(p["secret"], "100%");
        assert_eq!(p["multi"], "a\nb\n\nc");
        assert_eq!(p["next"], "1");
        assert!(!ini.has_section("DEFAULT"));
        let bad = read("[p]\nsecret = 50%off\n").unwrap();
        assert!(bad.items("p").unwrap().is_err());
        let missing = read("[p]\nx = %(nope)s\n").unwrap();
        assert!(missing.items("p").unwrap().is_err());
        let looped = read("[p]\nx = %(y)s\ny = %(x)s\n").unwrap();
        assert!(looped.items("p").unwrap().is_err());
    }

    #[test]
    fn later_files_override_and_duplicates_fail() {
        let mut ini = Ini::default();
        ini.read("a", "[p]\nkey = 1\nsecret = s\n").unwrap();
        ini.read("b", "[p]\nkey = 2\n").unwrap();
        let p = ini.items("p").unwrap().unwrap();
        assert_eq!((p["key"].as_str(), p["secret"].as_str()), ("2", "s"));
        assert!(read("[p]\n[p]\n").is_err());
        assert!(read("[p]\nk=1\nK=2\n").is_err());
        assert!(read("k = 1\n").is_err());
        assert!(read("[p]\njustaword\n").is_err());
        assert!(read("[p]\n= v\n").is_err());
    }
}
