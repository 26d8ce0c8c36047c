//! `s3copy`: stream an HTTP(S) URL, a file or stdin into S3-compatible storage, or copy
//! server-side between S3 objects; set ACLs; list and abort incomplete multipart uploads.
//!
//! Exit codes: 0 success, 1 an integrity check failed, 2 usage, I/O or server error, 130 stopped
//! by Ctrl-C (the copy's multipart upload aborted).

mod args;

use std::process::ExitCode;

use clap::Parser;
use examples::progress::Display;
use s3_stream::{
    AddressingStyle, Client, ClientBuilder, CopyOptions, Error, HttpSource, SignatureVersion,
    Source,
};

use args::{Cli, Cmd, S3Url, parse_age};

fn builder(cli: &Cli) -> Result<ClientBuilder, Error> {
    let mut b = ClientBuilder::from_env();
    if let Some(p) = &cli.profile {
        b = b.with_profile(p);
    }
    if let Some(e) = &cli.endpoint {
        b = b.with_endpoint(e);
    }
    if let Some(r) = &cli.region {
        b = b.with_region(r);
    }
    if cli.path_style {
        b = b.with_addressing_style(AddressingStyle::Path);
    }
    if cli.virtual_hosted {
        b = b.with_addressing_style(AddressingStyle::VirtualHosted);
    }
    if cli.sigv2 {
        b = b.with_signature_version(SignatureVersion::V2);
    }
    if let Some(ca) = &cli.ca_file {
        b = b.with_extra_ca_pem(read_pem(ca)?);
    }
    Ok(b.with_payload_signing(cli.payload.into())
        .with_insecure_tls(cli.insecure))
}

/// A PEM file of certificates to trust.
fn read_pem(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_owned(),
        source: e,
    })
}

fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Integrity { .. } | Error::Truncated { .. } | Error::TooLong { .. } => 1,
        Error::Cancelled => 130,
        // the upload could not be aborted either: the code is the cause's
        Error::UploadLeftOpen { source, .. } => exit_code(source),
        _ => 2,
    }
}

fn print_error(e: &Error) {
    if matches!(e, Error::Cancelled) {
        eprintln!(
            "s3copy: cancelled by Ctrl-C; no object was stored and no incomplete upload was left"
        );
        return;
    }
    let mut msg = format!("s3copy: {e}");
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = cur {
        msg.push_str(&format!(": {s}"));
        cur = s.source();
    }
    eprintln!("{msg}");
}

async fn run(cli: Cli) -> Result<(), Error> {
    let client = builder(&cli)?.build()?;
    match &cli.cmd {
        Some(Cmd::SetAcl { target, acl }) => {
            let t = S3Url::parse(target)?;
            client.put_object_acl(&t.bucket, &t.key, acl).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"bucket": t.bucket, "key": t.key, "acl": acl})
                );
            } else {
                println!("s3://{}/{}: acl {acl}", t.bucket, t.key);
            }
            Ok(())
        }
        Some(Cmd::Uploads {
            bucket,
            abort,
            older_than,
        }) => {
            let b = S3Url::parse(bucket)?;
            let age = older_than.as_deref().map(parse_age).transpose()?;
            let now = s3_stream::Timestamp::now().unix();
            let list = if *abort {
                client.abort_incomplete_uploads(&b.bucket, age).await?
            } else {
                let all = client
                    .list_multipart_uploads(
                        &b.bucket,
                        (!b.key.is_empty()).then_some(b.key.as_str()),
                    )
                    .await?;
                all.into_iter()
                    .filter(|u| match (age, u.initiated) {
                        (None, _) => true,
                        (Some(a), Some(t)) => now - t.unix() >= a.as_secs() as i64,
                        (Some(_), None) => false,
                    })
                    .collect()
            };
            if cli.json {
                let items: Vec<_> = list
                    .iter()
                    .map(|u| {
                        serde_json::json!({"key": u.key, "upload_id": u.upload_id,
                            "initiated": u.initiated.map(|t| t.amz_date()), "aborted": abort})
                    })
                    .collect();
                println!("{}", serde_json::Value::from(items));
            } else {
                for u in &list {
                    let when = u
                        .initiated
                        .map(|t| t.amz_date())
                        .unwrap_or_else(|| "-".into());
                    let verb = if *abort { "aborted " } else { "" };
                    println!("{verb}{when}  {}  {}", u.upload_id, u.key);
                }
            }
            Ok(())
        }
        None => copy(&cli, &client).await,
    }
}

async fn copy(cli: &Cli, client: &Client) -> Result<(), Error> {
    let (Some(src), Some(dest)) = (&cli.src, &cli.dest) else {
        return Err(Error::Config {
            key: "arguments".into(),
            reason: "usage: s3copy SRC s3://bucket/key".into(),
        });
    };
    let dest = S3Url::parse(dest)?;
    if dest.key.is_empty() || dest.key.ends_with('/') {
        return Err(Error::Config {
            key: "destination".into(),
            reason: "give a full object key: s3://bucket/key".into(),
        });
    }
    // Progress shares stderr with the summary; --json and --quiet keep it off.
    let display = Display::new(!cli.json && !cli.quiet);
    // The total: the size given, or a local file's.
    let total = cli.expected_size.or_else(|| {
        let local = src != "-" && !src.contains("://");
        local
            .then(|| std::fs::metadata(src).ok().map(|m| m.len()))
            .flatten()
    });
    let bar = display.bytes("s3copy", total);
    let mut opts = CopyOptions {
        part_size: cli.part_size,
        concurrency: cli.concurrency,
        expected_size: cli.expected_size,
        multipart_threshold: cli.multipart_threshold,
        acl: cli.acl.clone(),
        content_type: cli.content_type.clone(),
        md5: cli.md5,
        sha256: cli.sha256,
        part_checksum: cli.part_checksum.into(),
        verify_etag: !cli.no_etag_check,
        ..Default::default()
    };
    opts.progress = bar.upload_progress();
    // Ctrl-C: the copy stops and its multipart upload is aborted (exit 130); a second Ctrl-C
    // exits at once, which may leave the upload behind.
    let cancel = s3_stream::CancelToken::new();
    opts.cancel = Some(cancel.clone());
    let bucket = dest.bucket.clone();
    tokio::spawn(async move {
        let say = |msg: &str| display.suspend(|| eprintln!("{msg}"));
        if tokio::signal::ctrl_c().await.is_ok() {
            say(
                "s3copy: interrupted: stopping the copy and aborting its upload (Ctrl-C again to quit at once)",
            );
            cancel.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                say(&format!(
                    "s3copy: interrupted again: an incomplete upload may be left; `s3copy uploads s3://{bucket} --abort` removes it"
                ));
                std::process::exit(130);
            }
        }
    });
    let report = if let Some(s) = src.strip_prefix("s3://") {
        let s = S3Url::parse(&format!("s3://{s}"))?;
        client
            .copy_object(&s.bucket, &s.key, &dest.bucket, &dest.key, &opts)
            .await?
    } else {
        let source = if src == "-" {
            Source::stdin()
        } else if src.starts_with("http://") || src.starts_with("https://") {
            let mut h = HttpSource::new(src).with_insecure_tls(cli.source_insecure);
            if let Some(ca) = &cli.source_ca {
                h = h.with_extra_ca_pem(read_pem(ca)?);
            }
            Source::Http(h)
        } else {
            Source::file(src)
        };
        // Every multipart upload is recorded (by source and destination) so that --resume can
        // continue it after the process was killed; completed or aborted uploads leave no record.
        let id = match &source {
            Source::File(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            other => other.name(),
        };
        opts.resume_file = s3_stream::resume_path(&id, &dest.bucket, &dest.key);
        opts.resume = cli.resume;
        client.copy(source, &dest.bucket, &dest.key, &opts).await?
    };
    bar.finish();
    if cli.json {
        println!(
            "{}",
            serde_json::json!({
                "bucket": dest.bucket, "key": dest.key,
                "bytes": report.bytes, "parts": report.parts, "multipart": report.multipart,
                "part_size": report.part_size,
                "seconds": report.elapsed.as_secs_f64(), "mb_per_s": report.mb_per_sec(),
                "etag": report.etag, "crc32c": report.crc32c, "md5": report.md5, "sha256": report.sha256,
                "upload_id": report.upload_id, "source_resumes": report.source_resumes,
                "part_checksum": report.part_checksum.as_str(),
                "payload_signed": report.payload_signed,
                "parts_reused": report.parts_reused, "parts_uploaded": report.parts_uploaded,
                "resume_refused": report.resume_refused,
            })
        );
    } else if !cli.quiet {
        if let Some(why) = &report.resume_refused {
            eprintln!("s3copy: the interrupted upload was not continued: {why}; started over");
        }
        let reused = if report.parts_reused > 0 {
            format!(" ({} kept from the earlier upload)", report.parts_reused)
        } else {
            String::new()
        };
        eprintln!(
            "s3://{}/{}: {} bytes, {} part(s){reused}, {:.1} s, {:.1} MB/s, crc32c {}{}{}",
            dest.bucket,
            dest.key,
            report.bytes,
            report.parts,
            report.elapsed.as_secs_f64(),
            report.mb_per_sec(),
            report.crc32c.as_deref().unwrap_or("-"),
            report
                .md5
                .as_deref()
                .map(|m| format!(", md5 {m}"))
                .unwrap_or_default(),
            report
                .sha256
                .as_deref()
                .map(|m| format!(", sha256 {m}"))
                .unwrap_or_default(),
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::log::init("s3copy");
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("s3copy: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(run(cli));
    // Do not wait for a blocking read that cannot finish (stdin after Ctrl-C or an error).
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}
