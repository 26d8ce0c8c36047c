//! `publish`, `transfer` and the object-store checks of `verify`, over s3-stream.

use ova_core::manifest::{Algorithm, VerifyReport};
use s3_stream::Credentials;
use s3_stream::{AddressingStyle, Client, CopyOptions, HttpSource, Source};

use crate::config::{Config, S3Settings};
use crate::error::PipelineError;
use crate::hints::Hint;
use crate::plan::Step;
use crate::state::{PublishOut, State, TransferOut};

use super::image_check::{self, Expect, InFlight};
use super::{CtrlC, Ctx, tee};

/// Bytes read from the export at a time (each handed to the verifier and the object's writer).
const CHUNK: usize = 256 << 10;

/// Build a client from the `[s3]` settings.
pub(crate) fn client(cfg: &Config, step: Step) -> Result<(Client, S3Settings), PipelineError> {
    let s = cfg.s3(step)?;
    let builder = Client::builder()
        .with_endpoint(s.endpoint.clone())
        .with_region(s.region.clone())
        .with_credentials(Credentials::new(
            s.access_key.clone(),
            s.secret_key.expose().to_owned(),
        ))
        .with_addressing_style(if s.virtual_hosted {
            AddressingStyle::VirtualHosted
        } else {
            AddressingStyle::Path
        });
    let client = crate::tls::s3(builder, &s.tls, step)?
        .build()
        .map_err(|e| s3_error(step, "cannot configure the S3 client", e))?;
    Ok((client, s))
}

/// Map an s3-stream error, keeping the status and S3 code for the hints.
pub(crate) fn s3_error(step: Step, context: &str, e: s3_stream::Error) -> PipelineError {
    let (status, code) = match e.s3_context() {
        Some(c) => (c.status, c.code.clone()),
        None => (None, None),
    };
    let code = match &e {
        s3_stream::Error::AclNotSupported { .. } => Some("AccessControlListNotSupported".into()),
        _ => code,
    };
    PipelineError::Failed {
        step,
        context: context.to_owned(),
        status,
        code,
        check: matches!(e, s3_stream::Error::Integrity { .. }),
        source: Box::new(e),
    }
}

/// The URL CloudStack fetches: `public_url`, or the object's path-style (or virtual-hosted) URL.
pub(crate) fn object_url(cfg: &Config, s: &S3Settings, key: &str) -> String {
    if let Some(u) = &cfg.s3.public_url {
        return u.clone();
    }
    let endpoint = s.endpoint.trim_end_matches('/');
    if s.virtual_hosted
        && let Some((scheme, host)) = endpoint.split_once("://")
    {
        return format!("{scheme}://{}.{host}/{key}", s.bucket);
    }
    format!("{endpoint}/{}/{key}", s.bucket)
}

/// Where a step records its multipart upload while it runs, beside the pipeline's state file: a
/// rerun after the process was killed continues that upload (the stored parts are checked
/// against the source and kept; only the others are sent).
fn upload_record(cfg: &Config, step: &str) -> std::path::PathBuf {
    let mut p = cfg.state_file().into_os_string();
    p.push(format!(".{step}-upload"));
    p.into()
}

/// `publish`: upload the OVA with the configured ACL; check the object's size and digest.
pub(crate) async fn publish(
    ctx: &mut Ctx<'_>,
    ova: &str,
    state: &State,
) -> Result<PublishOut, PipelineError> {
    let step = Step::Publish;
    let cfg = ctx.cfg;
    let (client, s) = client(cfg, step)?;
    let key = cfg.publish_key();
    let ctrl_c = CtrlC::new();
    let bar = ctx
        .printer
        .progress()
        .bytes("publish", std::fs::metadata(ova).ok().map(|m| m.len()));
    let opts = CopyOptions {
        progress: bar.upload_progress(),
        acl: cfg.s3.acl.clone(),
        content_type: Some(cfg.format().content_type().into()),
        sha256: true,
        cancel: Some(ctrl_c.token.clone()),
        resume_file: Some(upload_record(cfg, "publish")),
        resume: true,
        ..CopyOptions::default()
    };
    let copied = client.copy(Source::file(ova), &s.bucket, &key, &opts).await;
    drop(ctrl_c);
    let report = copied.map_err(|e| {
        s3_error(
            step,
            &format!("cannot upload {ova} to s3://{}/{key}", s.bucket),
            e,
        )
    })?;
    if let (Some(prep), Some(sent)) = (&state.prepare, &report.sha256)
        && prep.output.ova == ova
    {
        ctx.check(
            "published bytes match the prepared file",
            *sent == prep.output.sha256,
            format!("sha256 {sent}"),
        );
    }
    let head = client
        .head_object(&s.bucket, &key)
        .await
        .map_err(|e| s3_error(step, "HEAD of the uploaded object failed", e))?;
    ctx.check(
        "published object size",
        head.size == report.bytes,
        format!("HEAD {} bytes, sent {}", head.size, report.bytes),
    );
    Ok(PublishOut {
        bucket: s.bucket.clone(),
        key: key.clone(),
        url: object_url(cfg, &s, &key),
        size: report.bytes,
        etag: report.etag,
        acl: cfg.s3.acl.clone(),
    })
}

/// The export URL as a resumable HTTP source with its own TLS settings (the object store keeps
/// its own): a body that breaks is continued with `Range` + `If-Range`, as in `s3copy`.
fn export_source(cfg: &Config, export_url: &str) -> Result<HttpSource, PipelineError> {
    let step = Step::Transfer;
    let mut h =
        HttpSource::new(export_url).with_insecure_tls(cfg.transfer.source_insecure == Some(true));
    if let Some(ca) = &cfg.transfer.source_ca {
        let pem = std::fs::read(ca).map_err(|e| {
            PipelineError::failed(step, format!("cannot read --source-ca {}", ca.display()), e)
        })?;
        h = h.with_extra_ca_pem(pem);
    }
    Ok(h)
}

/// The HTTP status in a source error (`http status 404`), for the hints.
fn source_status(e: &s3_stream::Error) -> Option<u16> {
    let text = error_chain(e);
    let rest = &text[text.find("http status ")? + "http status ".len()..];
    rest.get(..3)?.parse().ok()
}

/// An error and its causes, joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// Describe a failed manifest verification.
fn mismatch_text(r: &VerifyReport) -> String {
    let mut parts = Vec::new();
    for m in &r.mismatched {
        parts.push(format!(
            "{}: {} digest mismatch (manifest {}, computed {})",
            m.name,
            m.algorithm.token(),
            m.expected,
            m.actual
        ));
    }
    for n in &r.missing {
        parts.push(format!("{n}: listed in the manifest but absent"));
    }
    for n in &r.unlisted {
        parts.push(format!("{n}: not listed in the manifest"));
    }
    for n in &r.unchecked {
        parts.push(format!("{n}: digest not checked"));
    }
    parts.join("; ")
}

/// `transfer`: the export URL read once through s3-stream's resumable HTTP source (a broken
/// connection is continued with `Range` guarded by `If-Range`), teed into the object's writer and
/// a streaming check: ova-core's manifest verifier for an OVA, the structure check of
/// [`image_check`] for a QCOW2 or VHD (`expect`). The object is stored only when the whole export
/// was read and the check accepted the whole stream; otherwise its upload is aborted.
pub(crate) async fn transfer(
    ctx: &mut Ctx<'_>,
    export_url: &str,
    expect: Option<Expect>,
) -> Result<TransferOut, PipelineError> {
    let step = Step::Transfer;
    let cfg = ctx.cfg;
    let (client, s) = client(cfg, step)?;
    let key = cfg.transfer_key();
    let source = export_source(cfg, export_url)?;
    let redacted = export_url
        .split('?')
        .next()
        .unwrap_or(export_url)
        .to_owned();
    let download_failed = |e: s3_stream::Error| PipelineError::Failed {
        step,
        context: format!("cannot download the export {redacted}"),
        status: source_status(&e),
        code: None,
        check: false,
        source: Box::new(e),
    };
    let mut reader = source.open().await.map_err(download_failed)?;
    let length = reader.len();
    let ctrl_c = CtrlC::new();
    let bar = ctx.printer.progress().bytes("transfer", length);
    let format = expect.map_or(crate::hypervisor::ImageFormat::Ova, |e| e.format);
    let opts = CopyOptions {
        progress: bar.upload_progress(),
        expected_size: length,
        content_type: Some(format.content_type().into()),
        cancel: Some(ctrl_c.token.clone()),
        resume_file: Some(upload_record(cfg, "transfer")),
        resume: true,
        ..CopyOptions::default()
    };
    let mut writer = client.writer(&s.bucket, &key, &opts);
    let chunks = futures::stream::unfold(&mut reader, |r| async move {
        match r.read_chunk(CHUNK).await {
            Ok(b) if b.is_empty() => None,
            item => Some((item, r)),
        }
    });
    let teed = tee::run(chunks, &mut writer, move |reader| {
        if let Some(expect) = expect {
            return image_check::check_stream(reader, expect).map(InFlight::Image);
        }
        match ova_core::manifest::verify_stream(reader, &[Algorithm::Sha256], ova_core::no_progress)
        {
            Ok(Some((_, report))) if report.is_ok() => {
                Ok(InFlight::Manifest(Some(report.matched.len())))
            }
            Ok(Some((_, report))) => Err(mismatch_text(&report)),
            Ok(None) => Ok(InFlight::Manifest(None)),
            Err(e) => Err(format!("the export is not a readable OVA: {e}")),
        }
    })
    .await;
    let resumes = reader.resumes();
    let tee::Teed {
        source: read,
        write,
        verdict,
        passed,
    } = teed;
    if let Err(e) = read {
        // The verifier saw a cut-off stream: the source is to blame, not the export's content.
        let _ = writer.abort().await;
        drop(ctrl_c);
        return Err(download_failed(e));
    }
    if write.is_err() {
        // The upload stopped first (an S3 error, Ctrl-C): its own error is the one to report.
        let e = match writer.finish().await {
            Err(e) => e,
            Ok(_) => s3_stream::Error::Cancelled,
        };
        drop(ctrl_c);
        return Err(s3_error(
            step,
            &format!("cannot stream {redacted} into s3://{}/{key}", s.bucket),
            e,
        ));
    }
    if let Err(why) = &verdict {
        let _ = writer.abort().await;
        drop(ctrl_c);
        ctx.check("export verified in flight", false, why.clone());
        return Err(PipelineError::Check {
            step,
            what: format!("the export failed verification, upload aborted: {why}"),
            hint: Some(Hint::ExportCorrupt),
        });
    }
    let finished = writer.finish().await;
    drop(ctrl_c);
    let report = finished.map_err(|e| {
        s3_error(
            step,
            &format!("cannot stream {redacted} into s3://{}/{key}", s.bucket),
            e,
        )
    })?;
    let verified = verdict.unwrap_or(InFlight::Manifest(None));
    ctx.check(
        "export verified in flight",
        true,
        match &verified {
            InFlight::Manifest(Some(n)) => format!("{n} entries verified in flight"),
            InFlight::Manifest(None) => {
                "the export has no manifest: archive structure read, no digest to check".into()
            }
            InFlight::Image(c) => c.summary.clone(),
        },
    );
    if resumes > 0 {
        ctx.check(
            "export download resumed",
            true,
            format!(
                "the connection broke {resumes} time{} and was continued with Range + If-Range",
                if resumes == 1 { "" } else { "s" }
            ),
        );
    }
    ctx.check(
        "bytes uploaded = bytes verified",
        report.bytes == passed.bytes,
        format!(
            "uploaded {} bytes in {} part{}, verified {}",
            report.bytes,
            report.parts,
            if report.parts == 1 { "" } else { "s" },
            passed.bytes
        ),
    );
    let head = client
        .head_object(&s.bucket, &key)
        .await
        .map_err(|e| s3_error(step, "HEAD of the transferred object failed", e))?;
    ctx.check(
        "transferred object size",
        head.size == passed.bytes,
        format!("HEAD {} bytes, downloaded {}", head.size, passed.bytes),
    );
    Ok(TransferOut {
        bucket: s.bucket,
        key,
        size: passed.bytes,
        sha256: passed.sha256,
        verified_entries: match verified {
            InFlight::Manifest(n) => n.unwrap_or(0),
            InFlight::Image(_) => 0,
        },
        format,
        virtual_size: match verified {
            InFlight::Image(c) => Some(c.virtual_size),
            InFlight::Manifest(_) => None,
        },
    })
}

/// The object-store half of `verify`.
pub(crate) async fn verify(ctx: &mut Ctx<'_>, state: &State) -> Result<(), PipelineError> {
    let step = Step::Verify;
    if state.publish.is_none() && state.transfer.is_none() {
        return Ok(());
    }
    let (client, s) = client(ctx.cfg, step)?;
    if let Some(p) = &state.publish {
        let p = &p.output;
        // A QCOW2 or VHD is read back whole from the URL by image_verify instead.
        let is_ova = super::image_verify::published_format(ctx.cfg, state)
            == crate::hypervisor::ImageFormat::Ova;
        match client.head_object(&p.bucket, &p.key).await {
            Ok(h) => ctx.check(
                "published object present",
                h.size == p.size,
                format!(
                    "HEAD s3://{}/{}: {} bytes (expected {})",
                    p.bucket, p.key, h.size, p.size
                ),
            ),
            Err(e) => ctx.check("published object present", false, e.to_string()),
        };
        // What CloudStack sees: an anonymous GET of the first block of the URL.
        let got = if is_ova {
            Some(
                crate::tls::http(&s.tls, step)?
                    .get(&p.url)
                    .header("Range", "bytes=0-511")
                    .send()
                    .await,
            )
        } else {
            None
        };
        match got {
            None => {}
            Some(Ok(r)) if r.status().is_success() => {
                let status = r.status();
                let body = r.bytes().await.unwrap_or_default();
                let is_tar = body.len() >= 262 && &body[257..262] == b"ustar";
                ctx.check(
                    "object URL serves an OVA",
                    is_tar,
                    format!(
                        "GET {} -> {status}, tar header {}",
                        p.url,
                        if is_tar { "found" } else { "missing" }
                    ),
                );
            }
            Some(Ok(r)) => {
                ctx.check(
                    "object URL serves an OVA",
                    false,
                    format!("GET {} -> {}", p.url, r.status()),
                );
            }
            Some(Err(e)) => {
                ctx.check(
                    "object URL serves an OVA",
                    false,
                    format!("GET {}: {e}", p.url),
                );
            }
        }
    }
    if let Some(t) = &state.transfer {
        let t = &t.output;
        match client.head_object(&t.bucket, &t.key).await {
            Ok(h) => ctx.check(
                "transferred object present",
                h.size == t.size,
                format!(
                    "HEAD s3://{}/{}: {} bytes (expected {})",
                    t.bucket, t.key, h.size, t.size
                ),
            ),
            Err(e) => ctx.check("transferred object present", false, e.to_string()),
        };
    }
    Ok(())
}
