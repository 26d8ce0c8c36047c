//! Reading a QCOW2 or VHD image back whole through ova-core's reader: after `prepare` (the file
//! written) and in `verify` (the published object at the URL CloudStack fetched, and the
//! transferred export), over HTTP range requests so that no copy is made.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::Path;

use bytes::Bytes;
use ova_core::disk::qcow2::Qcow2Reader;
use ova_core::disk::vhd::VhdReader;
use sha2::Digest;

use crate::config::S3Settings;
use crate::error::PipelineError;
use crate::hypervisor::ImageFormat;
use crate::plan::Step;
use crate::state::State;

use super::Ctx;

/// What a whole read-back found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadBack {
    /// The virtual disk size.
    pub(crate) virtual_size: u64,
    /// SHA-256 of the raw disk content, lowercase hex.
    pub(crate) raw_sha256: String,
    /// Notes of the reader that do not stop reading (leaked clusters, ...).
    pub(crate) problems: Vec<String>,
}

/// A `Write` that only hashes.
struct HashWriter(sha2::Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Check `input` as a `format` image (every table, and refcounts for QCOW2) and hash its raw
/// content.
///
/// # Errors
///
/// The reader's error for a damaged image; [`ova_core::Error::DiskUnsupported`] for an OVA.
pub(crate) fn read_back<R: Read + Seek>(
    format: ImageFormat,
    input: R,
    stop: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> ova_core::Result<ReadBack> {
    let mut hash = HashWriter(sha2::Sha256::new());
    let (virtual_size, problems) = match format {
        ImageFormat::Qcow2 => {
            let r = Qcow2Reader::new(input)?;
            let size = r.virtual_size();
            (size, r.copy_to_progress(&mut hash, stop)?.problems)
        }
        ImageFormat::Vhd => {
            let r = VhdReader::new(input)?;
            let size = r.virtual_size();
            (size, r.copy_to_progress(&mut hash, stop)?.problems)
        }
        ImageFormat::Ova => {
            return Err(ova_core::Error::DiskUnsupported {
                format: "ova",
                feature: "a read-back as a disk image".into(),
                hint: "an OVA is checked with its manifest",
            });
        }
    };
    Ok(ReadBack {
        virtual_size,
        raw_sha256: hex::encode(hash.0.finalize()),
        problems,
    })
}

/// [`read_back`] of a local file.
///
/// # Errors
///
/// As [`read_back`], and [`ova_core::Error::Io`] when the file cannot be opened.
pub(crate) fn read_back_file(
    format: ImageFormat,
    path: &Path,
    stop: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> ova_core::Result<ReadBack> {
    let file = std::fs::File::open(path).map_err(|source| ova_core::Error::Io {
        path: path.to_owned(),
        source,
    })?;
    read_back(format, io::BufReader::with_capacity(1 << 20, file), stop)
}

/// Bytes fetched per range request.
const BLOCK: u64 = 4 << 20;
/// Blocks kept (the readers visit tables, then the data in order).
const KEEP: usize = 4;

/// A seekable reader over an HTTP URL, one range request per 4 MiB block. Blocking: use it
/// on a blocking thread of the runtime whose handle it holds.
pub(crate) struct HttpRangeReader {
    rt: tokio::runtime::Handle,
    http: reqwest::Client,
    url: String,
    len: u64,
    pos: u64,
    cache: Vec<(u64, Bytes)>,
}

impl HttpRangeReader {
    /// A reader over `url`, whose object is `len` bytes long.
    pub(crate) fn new(
        rt: tokio::runtime::Handle,
        http: reqwest::Client,
        url: String,
        len: u64,
    ) -> Self {
        Self {
            rt,
            http,
            url,
            len,
            pos: 0,
            cache: Vec::new(),
        }
    }

    fn block(&mut self, index: u64) -> io::Result<Bytes> {
        if let Some(i) = self.cache.iter().position(|(k, _)| *k == index) {
            let hit = self.cache.remove(i);
            self.cache.push(hit.clone());
            return Ok(hit.1);
        }
        let from = index * BLOCK;
        let to = (from + BLOCK).min(self.len) - 1;
        let req = self
            .http
            .get(&self.url)
            .header("Range", format!("bytes={from}-{to}"));
        let body = self.rt.block_on(async move {
            let resp = req.send().await.map_err(|e| e.without_url())?;
            let status = resp.status();
            if !status.is_success() {
                return Ok(Err(status));
            }
            resp.bytes().await.map(Ok).map_err(|e| e.without_url())
        });
        let body = match body {
            Ok(Ok(b)) => b,
            Ok(Err(status)) => {
                return Err(io::Error::other(format!(
                    "GET bytes {from}-{to} answered {status}"
                )));
            }
            Err(e) => return Err(io::Error::other(e)),
        };
        let want = (to + 1 - from) as usize;
        // A server ignoring Range answers 200 with the whole object.
        let body = if body.len() as u64 == self.len && want != body.len() {
            body.slice(from as usize..=to as usize)
        } else {
            body
        };
        if body.len() != want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "GET bytes {from}-{to} returned {} bytes, not {want}",
                    body.len()
                ),
            ));
        }
        if self.cache.len() >= KEEP {
            self.cache.remove(0);
        }
        self.cache.push((index, body.clone()));
        Ok(body)
    }
}

impl Read for HttpRangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let block = self.block(self.pos / BLOCK)?;
        let at = (self.pos % BLOCK) as usize;
        let n = buf.len().min(block.len() - at);
        buf[..n].copy_from_slice(&block[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for HttpRangeReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// A presigned (SigV4, query-string) GET URL of `bucket/key`, valid for an hour: the
/// read-back of a private object goes through the same range reader as a public one.
pub(crate) fn presigned_get(s: &S3Settings, bucket: &str, key: &str) -> Option<String> {
    use s3_stream::sigv4::{Request, Signer, uri_encode};
    let (scheme, rest) = s.endpoint.trim_end_matches('/').split_once("://")?;
    let (authority, base) = match rest.split_once('/') {
        Some((a, b)) => (a, format!("/{b}")),
        None => (rest, String::new()),
    };
    let (host, path) = if s.virtual_hosted {
        (
            format!("{bucket}.{authority}"),
            format!("{base}/{}", uri_encode(key, false)),
        )
    } else {
        (
            authority.to_owned(),
            format!(
                "{base}/{}/{}",
                uri_encode(bucket, false),
                uri_encode(key, false)
            ),
        )
    };
    let credentials =
        s3_stream::Credentials::new(s.access_key.clone(), s.secret_key.expose().to_owned());
    let signer = Signer {
        credentials: &credentials,
        region: &s.region,
        service: "s3",
        time: s3_stream::Timestamp::now(),
    };
    let headers = [("host".to_owned(), host.clone())];
    let query = signer.presign_query(
        &Request {
            method: "GET",
            path: &path,
            query: "",
            headers: &headers,
        },
        3600,
        "UNSIGNED-PAYLOAD",
    );
    Some(format!("{scheme}://{host}{path}?{query}"))
}

/// The format of the published object: the prepared file's, else the hypervisor's (`publish`
/// refuses a file of another format).
pub(crate) fn published_format(cfg: &crate::config::Config, state: &State) -> ImageFormat {
    state
        .prepare
        .as_ref()
        .map_or_else(|| cfg.format(), |d| d.output.format)
}

/// The image half of `verify`: the published object, fetched anonymously from the URL
/// CloudStack downloaded, and the transferred export, fetched with a presigned URL, are each
/// read back whole through ova-core's reader; their virtual size and raw-content digest must
/// be the prepared image's (or, without a `prepare` in the state, the size `transfer` read).
pub(crate) async fn verify(ctx: &mut Ctx<'_>, state: &State) -> Result<(), PipelineError> {
    let step = Step::Verify;
    let prepared = state
        .prepare
        .as_ref()
        .map(|d| &d.output)
        .filter(|p| p.format != ImageFormat::Ova);
    let mut targets: Vec<(&'static str, ImageFormat, String, u64)> = Vec::new();
    let published = published_format(ctx.cfg, state);
    if let Some(publ) = state
        .publish
        .as_ref()
        .filter(|_| published != ImageFormat::Ova)
    {
        targets.push((
            "object URL serves",
            published,
            publ.output.url.clone(),
            publ.output.size,
        ));
    }
    let transferred = state
        .transfer
        .as_ref()
        .map(|d| &d.output)
        .filter(|t| t.format != ImageFormat::Ova);
    if targets.is_empty() && transferred.is_none() {
        return Ok(());
    }
    // Both URLs are the object store's: signed with its keys, read back with its trust settings.
    let s3 = ctx.cfg.s3(step)?;
    if let Some(t) = transferred {
        let s = &s3;
        let url = presigned_get(s, &t.bucket, &t.key).ok_or_else(|| {
            PipelineError::failed(
                step,
                format!("cannot sign a GET of s3://{}/{}", t.bucket, t.key),
                io::Error::other(format!("unusable endpoint {}", s.endpoint)),
            )
        })?;
        targets.push(("transferred object is", t.format, url, t.size));
    }
    let rt = tokio::runtime::Handle::current();
    let http = crate::tls::http(&s3.tls, step)?;
    for (what, format, url, len) in targets {
        let name = format!("{what} the prepared {format} image");
        let shown = url.split('?').next().unwrap_or_default().to_owned();
        let (rt, http) = (rt.clone(), http.clone());
        let job = tokio::task::spawn_blocking(move || {
            let reader = HttpRangeReader::new(rt, http, url, len);
            read_back(format, reader, &mut ova_core::no_progress)
        });
        let got = job
            .await
            .map_err(|e| PipelineError::failed(step, "the read-back task stopped", e))?;
        let (size, raw) = match (prepared.filter(|p| p.format == format), transferred) {
            (Some(p), _) => (p.virtual_size, p.raw_sha256.clone()),
            (None, Some(t)) if t.format == format => (t.virtual_size, None),
            _ => (None, None),
        };
        match got {
            Ok(back) => {
                let size_ok = size.is_none_or(|v| v == back.virtual_size);
                let raw_ok = raw.as_deref().is_none_or(|r| r == back.raw_sha256);
                ctx.check(
                    name,
                    size_ok && raw_ok,
                    format!(
                        "GET {shown}: read back through the {format} reader, virtual size {}{}, \
                         raw content sha256 {}{}",
                        back.virtual_size,
                        match size {
                            Some(v) if v != back.virtual_size => format!(" (prepared {v})"),
                            _ => String::new(),
                        },
                        back.raw_sha256,
                        match raw {
                            Some(r) if r != back.raw_sha256 => format!(" (prepared {r})"),
                            Some(_) => " = prepared".to_owned(),
                            None => String::new(),
                        }
                    ),
                );
            }
            Err(e) => {
                let mut text = e.to_string();
                let mut cur = std::error::Error::source(&e);
                while let Some(c) = cur {
                    text.push_str(&format!(": {c}"));
                    cur = c.source();
                }
                ctx.check(name, false, format!("GET {shown}: {text}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ova_core::disk::qcow2::Qcow2Writer;

    #[test]
    fn read_back_gives_the_virtual_size_and_raw_digest() {
        let raw: Vec<u8> = (0..(2u32 << 20)).map(|i| (i / 1000) as u8).collect();
        let mut img = io::Cursor::new(Vec::new());
        Qcow2Writer::new()
            .write(&raw[..], raw.len() as u64, &mut img)
            .unwrap();
        img.set_position(0);
        let back = read_back(ImageFormat::Qcow2, img.clone(), &mut ova_core::no_progress).unwrap();
        assert_eq!(back.virtual_size, raw.len() as u64);
        assert_eq!(back.raw_sha256, hex::encode(sha2::Sha256::digest(&raw)));
        // A VHD reader refuses the QCOW2; an OVA is never read back as a disk.
        assert!(read_back(ImageFormat::Vhd, img.clone(), &mut ova_core::no_progress).is_err());
        assert!(read_back(ImageFormat::Ova, img, &mut ova_core::no_progress).is_err());
    }

    #[test]
    fn presigned_urls_name_the_object_and_carry_a_signature() {
        let s = S3Settings {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            bucket: "b".into(),
            access_key: "AK".into(),
            secret_key: crate::config::Secret::new("SK"),
            virtual_hosted: false,
            tls: crate::config::TlsSettings::default(),
        };
        let url = presigned_get(&s, "b", "exports/a b.qcow2").unwrap();
        assert!(url.starts_with("http://127.0.0.1:9000/b/exports/a%20b.qcow2?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F"), "{url}");
        assert!(
            url.contains("&X-Amz-Signature=") && !url.contains("SK"),
            "{url}"
        );
        let vh = S3Settings {
            virtual_hosted: true,
            ..s
        };
        let url = presigned_get(&vh, "b", "k").unwrap();
        assert!(url.starts_with("http://b.127.0.0.1:9000/k?"), "{url}");
    }
}
