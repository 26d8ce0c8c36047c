//! Rewriting `References/File` attributes when a file's storage changes (sans-IO): joining a
//! chunked file drops `ovf:chunkSize`, re-chunking sets it, decompressing drops
//! `ovf:compression` and sets `ovf:size` to the uncompressed size. Every other byte of the
//! descriptor stays as it was.

use crate::error::{Error, Result};
use crate::ovf::Descriptor;

/// How one `File` element's storage attributes change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StorageChange {
    /// The file's `ovf:href`.
    pub href: String,
    /// `Some(None)`: remove `ovf:chunkSize`; `Some(Some(n))`: set it; `None`: leave it.
    pub chunk_size: Option<Option<u64>>,
    /// Set `ovf:size` (added when missing).
    pub size: Option<u64>,
    /// Remove `ovf:compression`.
    pub drop_compression: bool,
}

impl StorageChange {
    /// No change yet, for the file `href`.
    pub fn new(href: impl Into<String>) -> Self {
        Self {
            href: href.into(),
            ..Self::default()
        }
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.chunk_size.is_none() && self.size.is_none() && !self.drop_compression
    }
}

/// `descriptor`'s bytes with `changes` applied to its `References/File` elements.
///
/// # Errors
///
/// [`Error::OvfEditTargetAbsent`] when no `File` has a change's href.
pub fn apply(descriptor: &Descriptor, changes: &[StorageChange]) -> Result<Vec<u8>> {
    let doc = descriptor.as_bytes();
    let ns = descriptor.version().namespace();
    let tree = descriptor.tree();
    let mut splices: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for c in changes.iter().filter(|c| !c.is_empty()) {
        let node = tree
            .nodes
            .iter()
            .find(|n| {
                n.local == "File"
                    && n.attr_ns(ns, "href")
                        .is_some_and(|a| crate::write::normalize_name(&a.value) == c.href)
            })
            .ok_or_else(|| Error::OvfEditTargetAbsent {
                edit: format!("rewrite the References entry of {:?}", c.href),
                what: format!("File with ovf:href {:?}", c.href),
            })?;
        let prefix = node
            .attr_ns(ns, "href")
            .map(|a| a.prefix.clone())
            .filter(|p| !p.is_empty());
        let qualified = |local: &str| match &prefix {
            Some(p) => format!("{p}:{local}"),
            None => local.to_owned(),
        };
        let insert_at = node
            .attrs
            .last()
            .map(|a| a.span.end + 1)
            .unwrap_or(node.start.start + 1 + node.prefix.len() + node.local.len() + 1);
        let mut set = |local: &str, value: Option<String>| match (node.attr_ns(ns, local), value) {
            (Some(a), Some(v)) => splices.push((a.span.clone(), v)),
            (Some(a), None) => splices.push((whole_attribute(doc, &a.span), String::new())),
            (None, Some(v)) => splices.push((
                insert_at..insert_at,
                format!(" {}=\"{v}\"", qualified(local)),
            )),
            (None, None) => {}
        };
        if let Some(cs) = c.chunk_size {
            set("chunkSize", cs.map(|n| n.to_string()));
        }
        if let Some(size) = c.size {
            set("size", Some(size.to_string()));
        }
        if c.drop_compression {
            set("compression", None);
        }
    }
    // Back to front, so earlier ranges stay valid; insertions at one point keep their order.
    let mut order: Vec<usize> = (0..splices.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((splices[i].0.start, splices[i].0.end, i)));
    let mut out = doc.to_vec();
    for i in order {
        let (r, text) = splices[i].clone();
        out.splice(r, text.into_bytes());
    }
    Ok(out)
}

/// The byte range of a whole attribute (the whitespace before it, its name, `=` and quoted
/// value), from the span of its value.
fn whole_attribute(doc: &[u8], value: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    let mut i = value.start.saturating_sub(1); // the opening quote
    while i > 0 && doc[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    i = i.saturating_sub(1); // '='
    while i > 0 && doc[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    while i > 0 && !doc[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    while i > 0 && doc[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    i..value.end + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:href="a.vmdk" ovf:id="f1" ovf:size="10" ovf:compression = 'gzip'   ovf:chunkSize="4"/><File ovf:href="b.iso" ovf:id="f2"/></References></Envelope>"#;

    #[test]
    fn join_decompress_and_rechunk() {
        let d = Descriptor::parse(DOC.as_bytes()).unwrap();
        let mut a = StorageChange::new("a.vmdk");
        a.chunk_size = Some(None);
        a.size = Some(12345);
        a.drop_compression = true;
        let mut b = StorageChange::new("b.iso");
        b.chunk_size = Some(Some(7));
        b.size = Some(99);
        let out = apply(&d, &[a, b, StorageChange::new("b.iso")]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            DOC.replace(
                r#"ovf:size="10" ovf:compression = 'gzip'   ovf:chunkSize="4"/>"#,
                r#"ovf:size="12345"/>"#
            )
            .replace(
                r#"ovf:id="f2"/>"#,
                r#"ovf:id="f2" ovf:chunkSize="7" ovf:size="99"/>"#
            )
        );
        let back = Descriptor::parse(text.as_bytes()).unwrap();
        assert_eq!(back.references()[0].compression, None);
        assert_eq!(back.references()[0].chunk_size, None);
        assert_eq!(back.references()[1].chunk_size, Some(7));
        let mut missing = StorageChange::new("c");
        missing.size = Some(1);
        assert!(apply(&d, &[missing]).is_err());
    }
}
