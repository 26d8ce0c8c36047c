//! A small, position-preserving XML tree built from quick-xml events.
//!
//! Every element records the byte ranges of its start tag, end tag, content and attribute
//! values in the original document, which is what lets [`super::edit`] splice new text in while
//! leaving every other byte untouched. Namespaces are resolved by URI (prefixes stay as
//! written). No DTD is processed and no entity other than the five predefined ones and
//! character references is accepted, so entity-expansion bombs cannot happen; depth, size and
//! element count are bounded.

use std::ops::Range;
use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::error::{Error, Result};

/// Largest descriptor accepted (real descriptors are kilobytes; the biggest seen are ~1 MiB).
pub(crate) const MAX_SIZE: usize = 64 << 20;
/// Deepest element nesting accepted.
pub(crate) const MAX_DEPTH: usize = 128;
/// Most elements accepted.
pub(crate) const MAX_ELEMENTS: usize = 1_000_000;
/// Most attributes on one element (real OVF elements have a handful).
pub(crate) const MAX_ATTRIBUTES: usize = 256;
/// Most namespace bindings in scope at once (real descriptors declare about ten).
pub(crate) const MAX_NAMESPACES: usize = 256;

/// The XML namespace (always bound to `xml`).
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Namespace bindings in scope: (prefix, uri), later ones shadow earlier ones.
pub(crate) type Scope = Arc<Vec<(Arc<str>, Arc<str>)>>;

/// One attribute, with the byte range of its value (between the quotes).
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub(crate) prefix: String,
    pub(crate) local: String,
    /// Resolved namespace URI; `None` for an unprefixed attribute.
    pub(crate) ns: Option<Arc<str>>,
    /// The value with references replaced and whitespace normalised as XML requires.
    pub(crate) value: String,
    /// The raw value's byte range in the document (without the quotes).
    pub(crate) span: Range<usize>,
    /// The quote character used, `b'"'` or `b'\''`.
    pub(crate) quote: u8,
}

/// One element.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) prefix: String,
    pub(crate) local: String,
    pub(crate) ns: Option<Arc<str>>,
    /// The start tag (`<a ...>` or `<a .../>`), `<` to `>` inclusive.
    pub(crate) start: Range<usize>,
    /// The end tag (`</a>`); `None` for an empty-element tag.
    pub(crate) end: Option<Range<usize>>,
    pub(crate) attrs: Vec<Attr>,
    pub(crate) children: Vec<usize>,
    /// Direct character data (text and CDATA), references resolved.
    pub(crate) text: String,
    /// Namespace bindings in scope at this element (prefix, uri); `""` is the default one.
    /// Shared with the parent unless this element declares namespaces.
    pub(crate) scope: Scope,
}

impl Node {
    /// The byte range between the start and end tags (empty range at the end of the start tag
    /// for an empty-element tag).
    pub(crate) fn content(&self) -> Range<usize> {
        match &self.end {
            Some(end) => self.start.end..end.start,
            None => self.start.end..self.start.end,
        }
    }

    /// Whole element, start tag to end tag.
    #[cfg(test)]
    pub(crate) fn outer(&self) -> Range<usize> {
        match &self.end {
            Some(end) => self.start.start..end.end,
            None => self.start.clone(),
        }
    }

    /// The attribute with this local name in namespace `ns`, or unprefixed when `ns` is the
    /// namespace of the element itself (tolerating descriptors that omit the prefix).
    pub(crate) fn attr_ns(&self, ns: &str, local: &str) -> Option<&Attr> {
        self.attrs
            .iter()
            .find(|a| a.local == local && a.ns.as_deref() == Some(ns))
            .or_else(|| {
                self.attrs
                    .iter()
                    .find(|a| a.local == local && a.ns.is_none())
            })
    }

    /// An attribute by local name in any namespace (prefer a namespaced one).
    #[cfg(test)]
    pub(crate) fn attr_any(&self, local: &str) -> Option<&Attr> {
        self.attrs
            .iter()
            .find(|a| a.local == local && a.ns.is_some())
            .or_else(|| self.attrs.iter().find(|a| a.local == local))
    }

    /// The prefix bound to `uri` in scope here (the last binding wins), if any.
    pub(crate) fn prefix_for(&self, uri: &str) -> Option<&str> {
        self.scope
            .iter()
            .rev()
            .find(|(_, u)| &**u == uri)
            .map(|(p, _)| &**p)
    }

    /// The qualified name as written.
    pub(crate) fn qname(&self) -> String {
        if self.prefix.is_empty() {
            self.local.clone()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }
}

/// The parsed document: an arena of elements; index 0 is the root.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
}

impl Tree {
    pub(crate) fn root(&self) -> &Node {
        &self.nodes[0]
    }

    pub(crate) fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Child element indices of `i`.
    pub(crate) fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.nodes[i].children.iter().copied()
    }
}

fn xml_err(position: usize, reason: impl Into<String>) -> Error {
    Error::OvfXml {
        position: position as u64,
        reason: reason.into(),
        source: None,
    }
}

/// Parses `bytes` into a [`Tree`].
pub(crate) fn parse_tree(bytes: &[u8]) -> Result<Tree> {
    if bytes.len() > MAX_SIZE {
        return Err(Error::OvfLimit {
            what: "descriptor size",
            limit: MAX_SIZE as u64,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Error::OvfEncoding {
        position: e.valid_up_to() as u64,
    })?;
    // A UTF-8 byte order mark is allowed before the document; quick-xml strips it silently,
    // so strip it here and keep track of the offset.
    let base = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[base..];
    if body.starts_with('\u{feff}') {
        // quick-xml would strip this one too and every offset after it would be off by three
        return Err(xml_err(
            base,
            "a second byte order mark before the document",
        ));
    }

    let mut reader = Reader::from_str(body);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
    }

    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut root_seen = false;
    let mut prev = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| Error::OvfXml {
            position: (reader.error_position() as usize + base) as u64,
            reason: "parser error".into(),
            source: Some(Box::new(e)),
        })?;
        let pos = reader.buffer_position() as usize;
        let range = prev + base..pos + base;
        prev = pos;
        match event {
            Event::Start(_) | Event::Empty(_) => {
                let is_empty = matches!(event, Event::Empty(_));
                if stack.is_empty() && root_seen {
                    return Err(xml_err(range.start, "more than one root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::OvfLimit {
                        what: "element depth",
                        limit: MAX_DEPTH as u64,
                    });
                }
                if nodes.len() >= MAX_ELEMENTS {
                    return Err(Error::OvfLimit {
                        what: "element count",
                        limit: MAX_ELEMENTS as u64,
                    });
                }
                root_seen = true;
                let parent_scope = stack
                    .last()
                    .map(|&p| nodes[p].scope.clone())
                    .unwrap_or_default();
                let node = build_node(text, range, parent_scope)?;
                let idx = nodes.len();
                if let Some(&p) = stack.last() {
                    let parent = &mut nodes[p];
                    if parent.children.is_empty() && parent.text.trim().is_empty() {
                        parent.text = String::new();
                    }
                    parent.children.push(idx);
                }
                nodes.push(node);
                if !is_empty {
                    stack.push(idx);
                }
            }
            Event::End(_) => {
                let Some(idx) = stack.pop() else {
                    return Err(xml_err(range.start, "end tag without start tag"));
                };
                nodes[idx].end = Some(range);
            }
            Event::Text(_) => {
                let Some(raw) = text.get(range.clone()) else {
                    return Err(xml_err(
                        range.start,
                        "text that does not start on a character",
                    ));
                };
                let blank = raw.bytes().all(|b| b.is_ascii_whitespace());
                if let Some(&p) = stack.last() {
                    // Whitespace between child elements is formatting, not content.
                    if !blank || nodes[p].children.is_empty() {
                        nodes[p].text.push_str(&normalize_newlines(raw));
                    }
                } else if !blank {
                    return Err(xml_err(range.start, "text outside the root element"));
                }
            }
            Event::GeneralRef(_) => {
                let Some(raw) = text.get(range.clone()) else {
                    return Err(xml_err(
                        range.start,
                        "text that does not start on a character",
                    ));
                };
                let decoded = decode_reference(raw)
                    .ok_or_else(|| xml_err(range.start, format!("unknown entity {raw}")))?;
                match stack.last() {
                    Some(&p) => nodes[p].text.push(decoded),
                    None => return Err(xml_err(range.start, "reference outside the root")),
                }
            }
            Event::CData(c) => match stack.last() {
                Some(&p) => nodes[p].text.push_str(&c.into_inner()),
                None => return Err(xml_err(range.start, "cdata outside the root element")),
            },
            Event::DocType(d) => {
                // A DOCTYPE with an internal subset can declare entities (the "billion
                // laughs" bomb); nothing in OVF needs one, so refuse it outright.
                let inner = d.into_inner();
                if inner.contains('[') || inner.contains("<!ENTITY") {
                    return Err(xml_err(
                        range.start,
                        "document type declaration with an internal subset (entity declarations are refused)",
                    ));
                }
                if root_seen {
                    return Err(xml_err(range.start, "doctype after the root element"));
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(&open) = stack.last() {
        return Err(xml_err(
            nodes[open].start.start,
            format!("element <{}> is not closed", nodes[open].qname()),
        ));
    }
    if nodes.is_empty() {
        return Err(xml_err(bytes.len(), "no root element"));
    }
    Ok(Tree { nodes })
}

/// Replaces `\r\n` and lone `\r` by `\n`, as an XML processor must.
fn normalize_newlines(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\r') {
        std::borrow::Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Decodes `&name;` / `&#N;` / `&#xH;` (the raw text of a reference).
fn decode_reference(raw: &str) -> Option<char> {
    let inner = raw.strip_prefix('&')?.strip_suffix(';')?;
    match inner {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = inner.strip_prefix('#')?;
            let code = if let Some(hex) = num.strip_prefix('x') {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                num.parse::<u32>().ok()?
            };
            let c = char::from_u32(code)?;
            is_xml_char(c).then_some(c)
        }
    }
}

/// Whether `c` may appear in an XML 1.0 document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Unescapes an attribute value and applies XML attribute-value normalisation.
fn unescape_attr(raw: &str, position: usize) -> Result<String> {
    let raw = normalize_newlines(raw);
    let mut out = String::with_capacity(raw.len());
    let mut rest: &str = &raw;
    while let Some(i) = rest.find(['&', '<', '\t', '\n']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        match c {
            b'<' => return Err(xml_err(position, "'<' in an attribute value")),
            b'\t' | b'\n' => {
                out.push(' ');
                rest = &rest[i + 1..];
            }
            _ => {
                let end = rest[i..]
                    .find(';')
                    .ok_or_else(|| xml_err(position, "unterminated reference in attribute"))?;
                let r = &rest[i..i + end + 1];
                let ch = decode_reference(r)
                    .ok_or_else(|| xml_err(position, format!("unknown entity {r}")))?;
                out.push(ch);
                rest = &rest[i + end + 1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn split_qname(name: &str) -> (String, String) {
    match name.split_once(':') {
        Some((p, l)) => (p.to_string(), l.to_string()),
        None => (String::new(), name.to_string()),
    }
}

fn is_name_byte(b: u8) -> bool {
    !b.is_ascii_whitespace() && !matches!(b, b'=' | b'/' | b'>' | b'<' | b'"' | b'\'')
}

/// Builds a node from the start tag at `range` (`<` .. `>` inclusive).
fn build_node(doc: &str, range: Range<usize>, parent_scope: Scope) -> Result<Node> {
    let bytes = doc.as_bytes();
    let mut scope = parent_scope;
    let tag = &bytes[range.clone()];
    // tag = "<" name attrs ("/>" | ">")
    let close = if tag.ends_with(b"/>") { 2 } else { 1 };
    let inner_end = tag.len() - close;
    let mut i = 1;
    while i < inner_end && is_name_byte(tag[i]) {
        i += 1;
    }
    // Tag boundaries are ASCII, so these slices fall on character boundaries.
    let tag_str = &doc[range.clone()];
    let name = &tag_str[1..i];
    if name.is_empty() {
        return Err(xml_err(range.start, "element without a name"));
    }
    let (prefix, local) = split_qname(name);

    // Raw attributes: (name, value range in document, quote).
    let mut raw_attrs: Vec<(String, Range<usize>, u8)> = Vec::new();
    loop {
        while i < inner_end && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= inner_end {
            break;
        }
        let name_start = i;
        while i < inner_end && is_name_byte(tag[i]) {
            i += 1;
        }
        if i == name_start {
            return Err(xml_err(range.start + i, "malformed attribute"));
        }
        let aname = tag_str[name_start..i].to_string();
        while i < inner_end && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= inner_end || tag[i] != b'=' {
            return Err(xml_err(
                range.start + i,
                format!("attribute {aname} has no value"),
            ));
        }
        i += 1;
        while i < inner_end && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= inner_end || !matches!(tag[i], b'"' | b'\'') {
            return Err(xml_err(
                range.start + i,
                format!("attribute {aname} value is not quoted"),
            ));
        }
        let quote = tag[i];
        i += 1;
        let vstart = i;
        while i < inner_end && tag[i] != quote {
            i += 1;
        }
        if i >= inner_end {
            return Err(xml_err(
                range.start + vstart,
                format!("attribute {aname} value is not terminated"),
            ));
        }
        let vrange = range.start + vstart..range.start + i;
        i += 1;
        if raw_attrs.len() >= MAX_ATTRIBUTES {
            return Err(Error::OvfLimit {
                what: "attributes per element",
                limit: MAX_ATTRIBUTES as u64,
            });
        }
        if raw_attrs.iter().any(|(n, _, _)| *n == aname) {
            return Err(xml_err(
                range.start + name_start,
                format!("duplicate attribute {aname}"),
            ));
        }
        raw_attrs.push((aname, vrange, quote));
    }

    // Namespace declarations first, then resolve.
    let mut attrs = Vec::with_capacity(raw_attrs.len());
    for (aname, vrange, quote) in &raw_attrs {
        let raw = &doc[vrange.clone()];
        let value = unescape_attr(raw, vrange.start)?;
        if aname == "xmlns" {
            Arc::make_mut(&mut scope).push((Arc::from(""), Arc::from(value.as_str())));
        } else if let Some(p) = aname.strip_prefix("xmlns:") {
            if value.is_empty() {
                return Err(xml_err(
                    vrange.start,
                    format!("empty namespace for prefix {p}"),
                ));
            }
            Arc::make_mut(&mut scope).push((Arc::from(p), Arc::from(value.as_str())));
        }
        let (aprefix, alocal) = split_qname(aname);
        attrs.push(Attr {
            prefix: aprefix,
            local: alocal,
            ns: None,
            value,
            span: vrange.clone(),
            quote: *quote,
        });
    }
    if scope.len() > MAX_NAMESPACES {
        return Err(Error::OvfLimit {
            what: "namespace declarations in scope",
            limit: MAX_NAMESPACES as u64,
        });
    }
    let lookup = |p: &str| -> Option<Arc<str>> {
        if p == "xml" {
            return Some(Arc::from(XML_NS));
        }
        scope
            .iter()
            .rev()
            .find(|(sp, _)| &**sp == p)
            .map(|(_, u)| u.clone())
            .filter(|u| !u.is_empty())
    };
    for a in &mut attrs {
        if !a.prefix.is_empty() && a.prefix != "xmlns" {
            a.ns =
                Some(lookup(&a.prefix).ok_or_else(|| {
                    xml_err(a.span.start, format!("unbound prefix {}", a.prefix))
                })?);
        }
    }
    let ns =
        if prefix.is_empty() {
            lookup("")
        } else {
            Some(lookup(&prefix).ok_or_else(|| {
                xml_err(range.start, format!("unbound prefix {prefix} on <{name}>"))
            })?)
        };
    Ok(Node {
        prefix,
        local,
        ns,
        start: range,
        end: None,
        attrs,
        children: Vec::new(),
        text: String::new(),
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_tags_text_and_attributes() {
        let doc = br#"<?xml version="1.0"?>
<a:root xmlns:a="urn:a" x='1 &amp; 2'><a:b k="v">t&lt;x</a:b><c/></a:root>"#;
        let t = parse_tree(doc).unwrap();
        let root = t.root();
        assert_eq!(root.local, "root");
        assert_eq!(root.ns.as_deref(), Some("urn:a"));
        let x = root.attr_any("x").unwrap();
        assert_eq!(x.value, "1 & 2");
        assert_eq!(&doc[x.span.clone()], b"1 &amp; 2");
        assert_eq!(x.quote, b'\'');
        let b = t.node(root.children[0]);
        assert_eq!(b.text, "t<x");
        assert_eq!(&doc[b.content()], b"t&lt;x");
        assert_eq!(&doc[b.outer()], br#"<a:b k="v">t&lt;x</a:b>"#);
        let c = t.node(root.children[1]);
        assert!(c.end.is_none());
        assert_eq!(c.ns, None);
        assert_eq!(&doc[c.outer()], b"<c/>");
    }

    #[test]
    fn bom_crlf_and_cdata() {
        let doc = b"\xef\xbb\xbf<r>a\r\nb<![CDATA[<&>]]></r>";
        let t = parse_tree(doc).unwrap();
        assert_eq!(t.root().text, "a\nb<&>");
        assert_eq!(t.root().start, 3..6);
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert!(matches!(parse_tree(bomb), Err(Error::OvfXml { .. })));
        assert!(matches!(
            parse_tree(b"<r>&foo;</r>"),
            Err(Error::OvfXml { .. })
        ));
        assert!(matches!(
            parse_tree(b"<r><a></r>"),
            Err(Error::OvfXml { .. })
        ));
        assert!(matches!(parse_tree(b"<r>"), Err(Error::OvfXml { .. })));
        assert!(matches!(parse_tree(b""), Err(Error::OvfXml { .. })));
        assert!(matches!(parse_tree(b"<r/><r/>"), Err(Error::OvfXml { .. })));
        assert!(matches!(parse_tree(b"<p:r/>"), Err(Error::OvfXml { .. })));
        assert!(matches!(
            parse_tree(b"<r a='1' a='2'/>"),
            Err(Error::OvfXml { .. })
        ));
        assert!(matches!(
            parse_tree(b"\xff<r/>"),
            Err(Error::OvfEncoding { .. })
        ));
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            parse_tree(deep.as_bytes()),
            Err(Error::OvfLimit { .. })
        ));
        let many_attrs: String = (0..MAX_ATTRIBUTES + 1)
            .map(|i| format!(" a{i}='x'"))
            .collect();
        assert!(matches!(
            parse_tree(format!("<r{many_attrs}/>").as_bytes()),
            Err(Error::OvfLimit { .. })
        ));
        let decls: String = (0..200).map(|i| format!(" xmlns:p{i}='urn:{i}'")).collect();
        let nested = format!("<a{decls}><b{decls}/></a>");
        assert!(matches!(
            parse_tree(nested.as_bytes()),
            Err(Error::OvfLimit { .. })
        ));
        // A DOCTYPE without an internal subset is harmless.
        assert!(parse_tree(b"<!DOCTYPE r><r/>").is_ok());
    }

    #[test]
    fn attribute_normalisation() {
        let t = parse_tree(b"<r a=\"x\ty&#10;z&#x41;\"/>").unwrap();
        assert_eq!(t.root().attr_any("a").unwrap().value, "x y\nzA");
    }
}
