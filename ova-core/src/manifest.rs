//! OVF manifests (`.mf`): lenient parsing, canonical writing, hashing and verification.
//!
//! The canonical line — the only form ovakit writes, and the one ovftool writes — is
//! `SHA256(name)= hex\n`. The parser also accepts what other tools produce (CRLF line ends,
//! `SHA256 (x) = y` from `sha256sum --tag` and VirtualBox, OpenSSL 3's `SHA2-256(x)= y`, `=hex`
//! without the space, names holding parentheses) and records on each line which [`Variant`]s it
//! used and whether VMware is known to reject them. The algorithm is taken from each line, never
//! guessed from the OVF version.
//!
//! ```
//! use ova_core::manifest::{self, Algorithm};
//!
//! let text = "SHA256 (vm.ovf) = 0000000000000000000000000000000000000000000000000000000000000000\r\n";
//! let m = manifest::parse(text.as_bytes());
//! let line = &m.lines[0];
//! assert_eq!(line.name, "vm.ovf");
//! assert_eq!(line.algorithm, Algorithm::Sha256);
//! assert!(line.vmware_rejects());
//! assert_eq!(
//!     manifest::format_line(Algorithm::Sha256, "vm.ovf", &line.digest),
//!     "SHA256(vm.ovf)= 0000000000000000000000000000000000000000000000000000000000000000\n"
//! );
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use sha1::Digest as _;

/// A manifest digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-1 (OVF 1.x, old vSphere clients).
    Sha1,
    /// SHA-256 (OVF 2.x, ovftool ≥ 4.2 default).
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// All algorithms.
    pub const ALL: [Self; 3] = [Self::Sha1, Self::Sha256, Self::Sha512];

    /// The canonical manifest token (`SHA1`, `SHA256`, `SHA512`).
    pub fn token(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// Decode a manifest token, returning whether it is the OpenSSL 3 spelling (`SHA2-256`).
    /// Case-insensitive; also accepts `SHA-256`.
    pub fn from_token(token: &str) -> Option<(Self, bool)> {
        let t = token.to_ascii_uppercase();
        Some(match t.as_str() {
            "SHA1" | "SHA-1" => (Self::Sha1, false),
            "SHA256" | "SHA-256" => (Self::Sha256, false),
            "SHA512" | "SHA-512" => (Self::Sha512, false),
            "SHA2-256" => (Self::Sha256, true),
            "SHA2-512" => (Self::Sha512, true),
            _ => return None,
        })
    }

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Self::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Self::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Self::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Digest of a byte slice.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_token(s)
            .map(|(a, _)| a)
            .ok_or_else(|| format!("unknown digest algorithm {s:?} (use sha1, sha256 or sha512)"))
    }
}

/// An incremental hasher for one [`Algorithm`] (SHA-NI accelerated where the CPU has it).
#[derive(Clone)]
#[non_exhaustive]
pub enum Hasher {
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Hasher").field(&self.algorithm()).finish()
    }
}

impl Hasher {
    /// Which algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Sha1(_) => Algorithm::Sha1,
            Self::Sha256(_) => Algorithm::Sha256,
            Self::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feed bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// A deviation from the canonical `ALG(name)= hex\n` line form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Variant {
    /// `SHA256 (x)`: space between the algorithm and `(` (VirtualBox, `sha256sum --tag`,
    /// `openssl` 1.x). VMware rejects it ("Invalid OVF checksum algorithm: SHA256 ").
    SpaceBeforeParen,
    /// `(x) =`: space before `=`. Occurs together with the previous one; VMware rejects it.
    SpaceBeforeEquals,
    /// `=hex` with no space after `=`. VMware's acceptance is unknown.
    NoSpaceAfterEquals,
    /// More than one space after `=`.
    ExtraSpaceAfterEquals,
    /// OpenSSL 3's `SHA2-256` label. vCenter 8 rejects it.
    OpenSsl3Label,
    /// Algorithm not in upper case (`sha256`) or spelled `SHA-256`.
    AlgorithmSpelling,
    /// Line ends in CRLF.
    Crlf,
    /// Upper-case hex digits.
    UppercaseHex,
    /// Whitespace at the end of the line or before the algorithm.
    ExtraWhitespace,
}

impl Variant {
    /// Whether VMware (ESXi/vCenter/ovftool) is documented to reject a line using this variant.
    pub fn vmware_rejects(self) -> bool {
        matches!(
            self,
            Self::SpaceBeforeParen | Self::SpaceBeforeEquals | Self::OpenSsl3Label
        )
    }
}

/// One parsed manifest line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ManifestLine {
    /// 1-based line number.
    pub line: usize,
    /// The algorithm named on the line.
    pub algorithm: Algorithm,
    /// The file name between the parentheses.
    pub name: String,
    /// The digest bytes.
    #[serde(serialize_with = "hex_ser")]
    pub digest: Vec<u8>,
    /// How the line deviates from the canonical form.
    pub variants: Vec<Variant>,
}

fn hex_ser<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

impl ManifestLine {
    /// Whether VMware is documented to reject this line.
    pub fn vmware_rejects(&self) -> bool {
        self.variants.iter().any(|v| v.vmware_rejects())
    }

    /// The digest as lower-case hex.
    pub fn digest_hex(&self) -> String {
        hex::encode(&self.digest)
    }
}

/// A line the parser could not understand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// The line text (lossily UTF-8).
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// A parsed manifest: the lines understood and the lines not understood.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Manifest {
    /// Parsed lines, in file order.
    pub lines: Vec<ManifestLine>,
    /// Unparseable lines.
    pub bad_lines: Vec<BadLine>,
    /// Whether the last line lacks its newline.
    pub missing_final_newline: bool,
}

impl Manifest {
    /// The first line for `name`.
    pub fn get(&self, name: &str) -> Option<&ManifestLine> {
        self.lines.iter().find(|l| l.name == name)
    }

    /// The set of algorithms the manifest uses.
    pub fn algorithms(&self) -> BTreeSet<Algorithm> {
        self.lines.iter().map(|l| l.algorithm).collect()
    }

    /// Names listed more than once.
    pub fn duplicate_names(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut dups = BTreeSet::new();
        for l in &self.lines {
            if !seen.insert(l.name.as_str()) {
                dups.insert(l.name.clone());
            }
        }
        dups.into_iter().collect()
    }
}

/// Parse one line (without its `\n`).
fn parse_line(number: usize, raw: &[u8]) -> Result<ManifestLine, &'static str> {
    let mut variants = Vec::new();
    let mut raw = raw;
    if let Some(stripped) = raw.strip_suffix(b"\r") {
        variants.push(Variant::Crlf);
        raw = stripped;
    }
    let text = std::str::from_utf8(raw).map_err(|_| "not utf-8")?;
    let trimmed = text.trim();
    if trimmed.len() != text.len() {
        variants.push(Variant::ExtraWhitespace);
    }
    let open = trimmed.find('(').ok_or("no '(' after the algorithm")?;
    let token_part = &trimmed[..open];
    let token = token_part.trim_end();
    if token.len() != token_part.len() {
        variants.push(Variant::SpaceBeforeParen);
    }
    let (algorithm, openssl3) = Algorithm::from_token(token).ok_or("unknown algorithm")?;
    if openssl3 {
        variants.push(Variant::OpenSsl3Label);
    } else if token != algorithm.token() {
        variants.push(Variant::AlgorithmSpelling);
    }
    let eq = trimmed.rfind('=').ok_or("no '=' before the digest")?;
    if eq < open {
        return Err("no '=' after the name");
    }
    let before = &trimmed[open + 1..eq];
    let before_trim = before.trim_end();
    if before_trim.len() != before.len() {
        variants.push(Variant::SpaceBeforeEquals);
    }
    let name = before_trim
        .strip_suffix(')')
        .ok_or("no ')' before '='")?
        .to_owned();
    if name.is_empty() {
        return Err("empty file name");
    }
    let after = &trimmed[eq + 1..];
    let digest_text = after.trim_start();
    match after.len() - digest_text.len() {
        0 => variants.push(Variant::NoSpaceAfterEquals),
        1 if after.starts_with(' ') => {}
        _ => variants.push(Variant::ExtraSpaceAfterEquals),
    }
    if digest_text.bytes().any(|b| b.is_ascii_uppercase()) {
        variants.push(Variant::UppercaseHex);
    }
    let digest = hex::decode(digest_text).map_err(|_| "digest is not hex")?;
    if digest.len() != algorithm.digest_len() {
        return Err("digest length does not match the algorithm");
    }
    Ok(ManifestLine {
        line: number,
        algorithm,
        name,
        digest,
        variants,
    })
}

/// Parse a manifest leniently. Never fails: lines it cannot read are listed in
/// [`Manifest::bad_lines`]; blank lines are skipped.
pub fn parse(text: &[u8]) -> Manifest {
    let mut m = Manifest {
        missing_final_newline: !text.is_empty() && !text.ends_with(b"\n"),
        ..Manifest::default()
    };
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        match parse_line(i + 1, raw) {
            Ok(line) => m.lines.push(line),
            Err(reason) => m.bad_lines.push(BadLine {
                line: i + 1,
                text: String::from_utf8_lossy(raw).into_owned(),
                reason,
            }),
        }
    }
    m
}

/// The canonical line `ALG(name)= hex\n`.
pub fn format_line(algorithm: Algorithm, name: &str, digest: &[u8]) -> String {
    format!("{}({})= {}\n", algorithm.token(), name, hex::encode(digest))
}

/// A whole canonical manifest for `(name, digest)` pairs, in the given order.
pub fn format_manifest<'a>(
    algorithm: Algorithm,
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> String {
    entries
        .into_iter()
        .map(|(n, d)| format_line(algorithm, n, d))
        .collect()
}

/// Length in bytes of a canonical manifest for these names (digests do not change it).
pub fn canonical_len<'a>(algorithm: Algorithm, names: impl IntoIterator<Item = &'a str>) -> u64 {
    names
        .into_iter()
        .map(|n| (algorithm.token().len() + n.len() + 5 + 2 * algorithm.digest_len()) as u64)
        .sum()
}

/// Digests of one entry, by algorithm.
pub type Digests = BTreeMap<Algorithm, Vec<u8>>;

/// A reader that hashes what passes through it with one or more algorithms.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hashers: Vec<Hasher>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wrap `inner`, hashing with each algorithm in `algorithms`.
    pub fn new(inner: R, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        Self {
            inner,
            hashers: algorithms.into_iter().map(Algorithm::hasher).collect(),
            count: 0,
        }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The reader and the digests of everything read.
    pub fn finish(self) -> (R, Digests) {
        let digests = self
            .hashers
            .into_iter()
            .map(|h| (h.algorithm(), h.finish()))
            .collect();
        (self.inner, digests)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for h in &mut self.hashers {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// A digest that differs from the manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Mismatch {
    /// The entry.
    pub name: String,
    /// Algorithm of the manifest line.
    pub algorithm: Algorithm,
    /// Digest in the manifest (hex).
    pub expected: String,
    /// Digest computed (hex).
    pub actual: String,
}

/// The result of checking a manifest against computed digests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The manifest entry's name (when there is one).
    pub manifest_name: Option<String>,
    /// Entries whose digest matched.
    pub matched: Vec<String>,
    /// Entries whose digest differs.
    pub mismatched: Vec<Mismatch>,
    /// Names listed in the manifest that are not in the archive.
    pub missing: Vec<String>,
    /// Archive entries (other than the manifest and certificate) the manifest does not list.
    pub unlisted: Vec<String>,
    /// Lines that could not be checked because their algorithm was not computed.
    pub unchecked: Vec<String>,
}

impl VerifyReport {
    /// Whether every listed file is present and matches, and nothing is unlisted.
    pub fn is_ok(&self) -> bool {
        self.mismatched.is_empty()
            && self.missing.is_empty()
            && self.unlisted.is_empty()
            && self.unchecked.is_empty()
    }
}

/// Compare a manifest with computed digests (pure).
///
/// `present` lists every archive entry name in order with its digests (entries with no digests
/// computed, such as the manifest itself or the certificate, are passed with an empty map and
/// `exempt = true`).
pub fn compare<'a>(
    manifest: &Manifest,
    present: impl IntoIterator<Item = (&'a str, &'a Digests, bool)>,
) -> VerifyReport {
    let mut report = VerifyReport::default();
    let present: Vec<(&str, &Digests, bool)> = present.into_iter().collect();
    for line in &manifest.lines {
        let Some((_, digests, _)) = present.iter().find(|(n, _, _)| *n == line.name) else {
            report.missing.push(line.name.clone());
            continue;
        };
        match digests.get(&line.algorithm) {
            None => report.unchecked.push(line.name.clone()),
            Some(actual) if *actual == line.digest => report.matched.push(line.name.clone()),
            Some(actual) => report.mismatched.push(Mismatch {
                name: line.name.clone(),
                algorithm: line.algorithm,
                expected: line.digest_hex(),
                actual: hex::encode(actual),
            }),
        }
    }
    for (name, _, exempt) in present {
        if !exempt && manifest.get(name).is_none() {
            report.unlisted.push(name.to_owned());
        }
    }
    report
}

/// Verify a package in one streaming pass over an archive read from any [`Read`].
///
/// Entries that come after the manifest are hashed with the manifest's algorithms. Entries that
/// come before it (a manifest placed at the end) are hashed with `fallback` (the manifest is not
/// known yet); lines whose algorithm was not computed are reported in
/// [`VerifyReport::unchecked`]. Each byte is read once.
///
/// `progress` is called with the bytes of each buffer hashed, as a [`crate::Progress`] is.
///
/// Returns `Ok(None)` when the archive holds no manifest.
///
/// ```
/// use ova_core::manifest::{Algorithm, verify_stream};
/// use ova_core::write::OvaWriter;
///
/// let mut w = OvaWriter::new(Vec::new());
/// w.add_descriptor("vm.ovf", b"<Envelope/>")?;
/// w.add_manifest("vm.mf", format!("SHA256(vm.ovf)= {}\n",
///     hex::encode(Algorithm::Sha256.digest(b"<Envelope/>"))).as_bytes())?;
/// let ova = w.finish()?;
/// let (_, report) = verify_stream(&ova[..], &[Algorithm::Sha256], ova_core::no_progress)?
///     .expect("a manifest");
/// assert!(report.is_ok());
/// # Ok::<(), ova_core::Error>(())
/// ```
///
/// # Errors
///
/// The archive reader's errors ([`crate::Error::Truncated`], [`crate::Error::BadHeader`], ...),
/// [`crate::Error::EntryTooLarge`] for a manifest over 16 MiB, and [`crate::Error::Cancelled`]
/// when `progress` returns [`std::ops::ControlFlow::Break`].
pub fn verify_stream<R: Read>(
    source: R,
    fallback: &[Algorithm],
    mut progress: impl FnMut(u64) -> std::ops::ControlFlow<()>,
) -> crate::Result<Option<(Manifest, VerifyReport)>> {
    // Reading (this thread) and hashing (a second thread) overlap, so the pass runs at the
    // speed of the slower of the two instead of their sum; the reader need not be `Send`.
    std::thread::scope(|scope| {
        let (jobs, hashed) = crate::write::hashing_thread(scope);
        let mut reader = crate::archive::ArchiveReader::new(source);
        let mut manifest: Option<(String, Manifest)> = None;
        let mut seen: Vec<(String, Digests, bool)> = Vec::new();
        while let Some(mut entry) = reader.next_entry()? {
            let info = entry.info().clone();
            let read_err = |source: io::Error| crate::Error::ArchiveRead {
                offset: info.data_offset,
                source,
            };
            if info.kind == crate::archive::EntryKind::Manifest && manifest.is_none() {
                if info.size > 16 << 20 {
                    return Err(crate::Error::EntryTooLarge {
                        entry: info.name,
                        size: info.size,
                        max: 16 << 20,
                    });
                }
                let mut text = Vec::new();
                entry.read_to_end(&mut text).map_err(read_err)?;
                manifest = Some((info.name.clone(), parse(&text)));
                seen.push((info.name, Digests::new(), true));
                continue;
            }
            if info.kind == crate::archive::EntryKind::Certificate
                || info.entry_type != crate::tar::EntryType::Regular
            {
                seen.push((info.name, Digests::new(), true));
                continue;
            }
            let algorithms: Vec<Algorithm> = match &manifest {
                Some((_, m)) => m.algorithms().into_iter().collect(),
                None => fallback.to_vec(),
            };
            let hashers = algorithms.iter().map(|a| a.hasher()).collect();
            let lost = || crate::Error::ArchiveRead {
                offset: info.data_offset,
                source: io::Error::other("the hashing thread stopped"),
            };
            jobs.send(crate::write::HashJob::Begin(hashers))
                .map_err(|_| lost())?;
            loop {
                let mut buf = hashed.free.recv().map_err(|_| lost())?;
                let n = match entry.read(&mut buf) {
                    Ok(0) => {
                        let _ = hashed.free_tx.send(buf);
                        break;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        let _ = hashed.free_tx.send(buf);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Err(crate::Error::Truncated {
                            entry: info.name.clone(),
                            offset: info.data_offset + info.size - entry.remaining(),
                        });
                    }
                    Err(e) => return Err(read_err(e)),
                };
                jobs.send(crate::write::HashJob::Data(buf, n))
                    .map_err(|_| lost())?;
                crate::progress::report(&mut progress, n as u64)?;
            }
            jobs.send(crate::write::HashJob::End).map_err(|_| lost())?;
            let digests = hashed.digests.recv().map_err(|_| lost())?;
            seen.push((info.name, digests, false));
        }
        let Some((name, manifest)) = manifest else {
            return Ok(None);
        };
        let mut report = compare(&manifest, seen.iter().map(|(n, d, e)| (n.as_str(), d, *e)));
        report.manifest_name = Some(name);
        Ok(Some((manifest, report)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const H1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

    #[test]
    fn canonical() {
        let m = parse(format!("SHA256(a.ovf)= {H256}\nSHA1(b.vmdk)= {H1}\n").as_bytes());
        assert!(m.bad_lines.is_empty());
        assert_eq!(m.lines.len(), 2);
        assert!(m.lines.iter().all(|l| l.variants.is_empty()));
        assert_eq!(m.lines[1].algorithm, Algorithm::Sha1);
        assert_eq!(m.lines[0].digest, Algorithm::Sha256.digest(b""));
        assert!(!m.missing_final_newline);
    }

    #[test]
    fn variants() {
        let cases: &[(String, &[Variant], bool)] = &[
            (
                format!("SHA256 (a.ovf) = {H256}"),
                &[Variant::SpaceBeforeParen, Variant::SpaceBeforeEquals],
                true,
            ),
            (
                format!("SHA2-256(a.ovf)= {H256}"),
                &[Variant::OpenSsl3Label],
                true,
            ),
            (
                format!("SHA256(a.ovf)={H256}"),
                &[Variant::NoSpaceAfterEquals],
                false,
            ),
            (
                format!("SHA256(a.ovf)=   {H256}"),
                &[Variant::ExtraSpaceAfterEquals],
                false,
            ),
            (format!("SHA256(a.ovf)= {H256}\r"), &[Variant::Crlf], false),
            (
                format!("sha256(a.ovf)= {}", H256.to_uppercase()),
                &[Variant::AlgorithmSpelling, Variant::UppercaseHex],
                false,
            ),
            (
                format!("SHA1 (a.ovf)= {H1} "),
                &[Variant::ExtraWhitespace, Variant::SpaceBeforeParen],
                true,
            ),
        ];
        for (text, want, rejects) in cases {
            let m = parse(text.as_bytes());
            assert!(m.bad_lines.is_empty(), "{text}: {:?}", m.bad_lines);
            let l = &m.lines[0];
            assert_eq!(l.name, "a.ovf");
            let mut got = l.variants.clone();
            got.sort_by_key(|v| format!("{v:?}"));
            let mut want = want.to_vec();
            want.sort_by_key(|v| format!("{v:?}"));
            assert_eq!(got, want, "{text}");
            assert_eq!(l.vmware_rejects(), *rejects, "{text}");
        }
        assert!(parse(b"SHA1(x)= 00").missing_final_newline);
    }

    #[test]
    fn names_with_parentheses_and_equals() {
        let m = parse(format!("SHA1(certname (32-bit)=x.mf)= {H1}\n").as_bytes());
        assert_eq!(m.lines[0].name, "certname (32-bit)=x.mf");
        assert_eq!(
            format_line(Algorithm::Sha1, &m.lines[0].name, &m.lines[0].digest),
            format!("SHA1(certname (32-bit)=x.mf)= {H1}\n")
        );
    }

    #[test]
    fn bad_lines() {
        for (text, reason) in [
            ("MD5(a)= 00", "unknown algorithm"),
            ("SHA1 a = 00", "no '(' after the algorithm"),
            ("SHA1(a) 00", "no '=' before the digest"),
            ("SHA1(a= 00", "no ')' before '='"),
            ("SHA1(a)= zz", "digest is not hex"),
            ("SHA1(a)= 00", "digest length does not match the algorithm"),
            ("SHA1()= 00", "empty file name"),
        ] {
            let m = parse(text.as_bytes());
            assert_eq!(m.bad_lines.len(), 1, "{text}");
            assert_eq!(m.bad_lines[0].reason, reason, "{text}");
        }
        let m = parse(b"\n\n  \nSHA1(\xff)= 00\n");
        assert_eq!(m.bad_lines[0].line, 4);
        assert_eq!(m.bad_lines[0].reason, "not utf-8");
    }

    #[test]
    fn canonical_len_matches() {
        let names = ["a.ovf", "disk-1.vmdk"];
        for alg in Algorithm::ALL {
            let d = alg.digest(b"x");
            let text = format_manifest(alg, names.iter().map(|n| (*n, &d[..])));
            assert_eq!(canonical_len(alg, names), text.len() as u64);
        }
    }

    #[test]
    fn compare_reports() {
        let m = parse(
            format!(
                "SHA256(a)= {H256}\nSHA256(b)= {H256}\nSHA256(gone)= {H256}\nSHA512(c)= {}\n",
                "00".repeat(64)
            )
            .as_bytes(),
        );
        let empty = Algorithm::Sha256.digest(b"");
        let other = Algorithm::Sha256.digest(b"x");
        let da: Digests = [(Algorithm::Sha256, empty)].into();
        let db: Digests = [(Algorithm::Sha256, other.clone())].into();
        let none = Digests::new();
        let r = compare(
            &m,
            [
                ("a", &da, false),
                ("b", &db, false),
                ("c", &da, false),
                ("x.mf", &none, true),
                ("extra", &da, false),
            ],
        );
        assert_eq!(r.matched, vec!["a"]);
        assert_eq!(r.mismatched[0].name, "b");
        assert_eq!(r.mismatched[0].expected, H256);
        assert_eq!(r.mismatched[0].actual, hex::encode(other));
        assert_eq!(r.missing, vec!["gone"]);
        assert_eq!(r.unchecked, vec!["c"]);
        assert_eq!(r.unlisted, vec!["extra"]);
        assert!(!r.is_ok());
    }

    #[test]
    fn hashing_reader() {
        let mut r = HashingReader::new(&b"abc"[..], [Algorithm::Sha1, Algorithm::Sha256]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(r.count(), 3);
        let (_, d) = r.finish();
        assert_eq!(
            hex::encode(&d[&Algorithm::Sha1]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(&d[&Algorithm::Sha256]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn algorithm_parsing() {
        assert_eq!("sha512".parse::<Algorithm>().unwrap(), Algorithm::Sha512);
        assert!("md5".parse::<Algorithm>().is_err());
    }
}
