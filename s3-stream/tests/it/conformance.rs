//! One conformance suite, run against real S3 servers: s3s-fs in-process (verifies SigV2 and
//! SigV4), the moto server (`OVAKIT_MOTO_ENDPOINT`) and the rest of the matrix
//! (`common::matrix_servers`: the oldest and newest moto 5.x, ministack, s3rver). Every case downloads the object back and
//! compares its digests with the source's.

use std::time::Duration;

use crate::common::*;
use bytes::Bytes;
use s3_stream::plan::MIB;
use s3_stream::{
    Client, CopyOptions, Credentials, HttpSource, PartChecksum, SignatureVersion, Source,
};

const PART: u64 = 5 * MIB;

async fn check_back(c: &Client, bucket: &str, key: &str, want: &[u8]) {
    let got = c.get_object(bucket, key).await.unwrap();
    assert_eq!(got.len(), want.len(), "{key}: size");
    assert_eq!(sha256_hex(&got), sha256_hex(want), "{key}: sha256");
}

fn opts() -> CopyOptions {
    CopyOptions {
        part_size: Some(PART),
        concurrency: 3,
        md5: true,
        sha256: true,
        ..Default::default()
    }
}

async fn suite(s: MatrixServer) {
    let c = s.client();
    let bucket = unique("conf").to_lowercase();
    c.create_bucket(&bucket).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // 1. small file: one PUT, Content-MD5, digests reported
    let small = data(300_000, 1);
    let p = dir.path().join("small.bin");
    std::fs::write(&p, &small).unwrap();
    let r = c
        .copy(Source::file(&p), &bucket, "small.bin", &opts())
        .await
        .unwrap();
    assert!(!r.multipart, "{}", s.name);
    assert_eq!(r.bytes, small.len() as u64);
    assert_eq!(r.md5.as_deref(), Some(md5_hex(&small).as_str()));
    assert_eq!(r.sha256.as_deref(), Some(sha256_hex(&small).as_str()));
    assert_eq!(r.crc32c, Some(format!("{:08x}", crc32c::crc32c(&small))));
    check_back(&c, &bucket, "small.bin", &small).await;

    // 2. file, multipart, parts read in parallel
    let big = data((2 * PART + 300_000) as usize, 2);
    let p = dir.path().join("big.bin");
    std::fs::write(&p, &big).unwrap();
    let r = c
        .copy(Source::file(&p), &bucket, "dir/big file$.bin", &opts())
        .await
        .unwrap();
    assert!(r.multipart);
    assert_eq!(r.parts, 3);
    assert_eq!(r.md5.as_deref(), Some(md5_hex(&big).as_str()));
    assert_eq!(r.sha256.as_deref(), Some(sha256_hex(&big).as_str()));
    assert_eq!(r.crc32c, Some(format!("{:08x}", crc32c::crc32c(&big))));
    check_back(&c, &bucket, "dir/big file$.bin", &big).await;

    // 3. a reader of unknown length (stdin-like)
    let mid = data((PART + 123_456) as usize, 3);
    let reader = std::io::Cursor::new(mid.clone());
    let r = c
        .copy(Source::reader("pipe", reader), &bucket, "pipe.bin", &opts())
        .await
        .unwrap();
    assert_eq!(r.parts, 2);
    assert_eq!(r.sha256.as_deref(), Some(sha256_hex(&mid).as_str()));
    check_back(&c, &bucket, "pipe.bin", &mid).await;

    // 4. HTTP source with Content-Length, through a redirect
    let src = start_source(Bytes::from(big.clone()), SourceMode::Normal).await;
    let url = src.url.replace("/data", "/redirect");
    let r = c
        .copy(Source::url(url), &bucket, "http.bin", &opts())
        .await
        .unwrap();
    assert_eq!(r.parts, 3);
    check_back(&c, &bucket, "http.bin", &big).await;

    // 5. HTTP source without Content-Length (chunked)
    let src = start_source(Bytes::from(mid.clone()), SourceMode::Chunked).await;
    let r = c
        .copy(Source::url(&src.url), &bucket, "chunked.bin", &opts())
        .await
        .unwrap();
    assert_eq!(r.parts, 2);
    check_back(&c, &bucket, "chunked.bin", &mid).await;

    // 6. HTTP source that breaks mid-body: resumed with Range + If-Range
    let src = start_source(
        Bytes::from(big.clone()),
        SourceMode::BreakOnceAt(PART as usize + 777),
    )
    .await;
    let r = c
        .copy(Source::url(&src.url), &bucket, "resumed.bin", &opts())
        .await
        .unwrap();
    assert_eq!(r.source_resumes, 1);
    assert_eq!(r.sha256.as_deref(), Some(sha256_hex(&big).as_str()));
    check_back(&c, &bucket, "resumed.bin", &big).await;

    // 7. SigV2 client, single and multipart
    if s.sigv2 {
        let v2 = Client::builder()
            .with_endpoint(&s.endpoint)
            .with_credentials(Credentials::new(&s.access_key, &s.secret_key))
            .with_signature_version(SignatureVersion::V2)
            .with_retry(fast_retry())
            .build()
            .unwrap();
        let r = v2
            .copy(
                Source::reader("v2", std::io::Cursor::new(small.clone())),
                &bucket,
                "v2-small",
                &opts(),
            )
            .await
            .unwrap();
        assert!(!r.multipart);
        check_back(&c, &bucket, "v2-small", &small).await;
        let r = v2
            .copy(
                Source::file(dir.path().join("big.bin")),
                &bucket,
                "v2 big",
                &opts(),
            )
            .await
            .unwrap();
        assert!(r.multipart);
        check_back(&c, &bucket, "v2 big", &big).await;
    }

    // 8. unsigned payload over plain HTTP, CRC32C per part
    let unsigned = Client::builder()
        .with_endpoint(&s.endpoint)
        .with_credentials(Credentials::new(&s.access_key, &s.secret_key))
        .with_payload_signing(s3_stream::PayloadSigning::Unsigned)
        .build()
        .unwrap();
    let o = CopyOptions {
        part_checksum: PartChecksum::Crc32c,
        ..opts()
    };
    let r = unsigned
        .copy(
            Source::file(dir.path().join("big.bin")),
            &bucket,
            "crc.bin",
            &o,
        )
        .await
        .unwrap();
    assert_eq!(r.parts, 3);
    check_back(&c, &bucket, "crc.bin", &big).await;

    // 9. content type and metadata
    let o = CopyOptions {
        content_type: Some("application/x-ova".into()),
        metadata: vec![("origin".into(), "test".into())],
        ..opts()
    };
    c.copy(
        Source::reader("m", std::io::Cursor::new(small.clone())),
        &bucket,
        "meta.ova",
        &o,
    )
    .await
    .unwrap();
    let h = c.head_object(&bucket, "meta.ova").await.unwrap();
    assert_eq!(h.content_type.as_deref(), Some("application/x-ova"));
    assert!(
        h.metadata.iter().any(|(k, v)| k == "origin" && v == "test"),
        "{:?}",
        h.metadata
    );

    // 10. server-side copy, no bytes through the client: CopyObject up to 5 GiB (here up to a
    // lower multipart threshold), UploadPartCopy above (where the server implements it)
    if s.upload_part_copy {
        let r = c
            .copy_object(
                &bucket,
                "dir/big file$.bin",
                &bucket,
                "copied.bin",
                &CopyOptions {
                    part_size: Some(PART),
                    multipart_threshold: Some(PART),
                    ..opts()
                },
            )
            .await
            .unwrap();
        assert_eq!((r.parts, r.multipart), (3, true));
        check_back(&c, &bucket, "copied.bin", &big).await;
    }
    // the same bytes under a plain key where the server cannot find a copy source like that one
    let source_key = if s.copy_source_any_key {
        "dir/big file$.bin"
    } else {
        "http.bin"
    };
    let r = c
        .copy_object(&bucket, source_key, &bucket, "whole.bin", &opts())
        .await
        .unwrap();
    assert_eq!((r.parts, r.multipart), (1, false));
    check_back(&c, &bucket, "whole.bin", &big).await;

    // 11. a source that breaks and cannot resume: error, upload aborted
    let src = start_source(
        Bytes::from(big.clone()),
        SourceMode::BreakWithoutValidator(PART as usize + 10),
    )
    .await;
    let e = c
        .copy(Source::url(&src.url), &bucket, "broken.bin", &opts())
        .await
        .unwrap_err();
    // s3rver has no AbortMultipartUpload: the failure says the upload was left open
    let cause = match &e {
        s3_stream::Error::UploadLeftOpen { source, .. } if s.name == "s3rver" => source.as_ref(),
        other => other,
    };
    assert!(
        matches!(cause, s3_stream::Error::CannotResume { .. }),
        "{e}"
    );
    assert!(
        c.head_object(&bucket, "broken.bin").await.is_err(),
        "no object must be left"
    );

    if s.acl_and_listing {
        assert!(
            c.list_multipart_uploads(&bucket, None)
                .await
                .unwrap()
                .is_empty(),
            "aborted upload still listed"
        );
        // ACL on upload and afterwards
        let o = CopyOptions {
            acl: Some("public-read".into()),
            ..opts()
        };
        c.copy(
            Source::reader("acl", std::io::Cursor::new(small.clone())),
            &bucket,
            "acl.bin",
            &o,
        )
        .await
        .unwrap();
        c.put_object_acl(&bucket, "acl.bin", "private")
            .await
            .unwrap();
        // an upload left open on purpose, then cleaned up by age
        let raw = Client::builder()
            .with_endpoint(&s.endpoint)
            .with_credentials(Credentials::new(&s.access_key, &s.secret_key))
            .build()
            .unwrap();
        let src = start_source(
            Bytes::from(big.clone()),
            SourceMode::BreakWithoutValidator(10),
        )
        .await;
        let _ = raw.copy(Source::url(&src.url), &bucket, "x", &opts()).await;
        let none = c
            .abort_incomplete_uploads(&bucket, Some(Duration::from_secs(86_400)))
            .await
            .unwrap();
        assert!(none.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3s_fs() {
    let srv = start_s3s_fs().await;
    suite(MatrixServer::s3s_fs(&srv.endpoint)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_moto() {
    let Some(ep) = moto_endpoint() else { return };
    suite(MatrixServer {
        name: "moto",
        endpoint: ep,
        access_key: AK.into(),
        secret_key: SK.into(),
        upload_part_copy: true,
        sigv2: true,
        acl_and_listing: true,
        copy_source_any_key: true,
    })
    .await;
}

/// The suite on the other servers of the matrix: the oldest and newest moto 5.x, ministack,
/// s3rver (each where it implements the call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_matrix() {
    for s in matrix_servers().into_iter().filter(|s| s.name != "moto") {
        eprintln!("conformance: {}", s.name);
        suite(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_lists_and_aborts_old_uploads() {
    let Some(ep) = moto_endpoint() else { return };
    let c = client(&ep);
    let bucket = unique("uploads").to_lowercase();
    c.create_bucket(&bucket).await.unwrap();
    let a = c
        .create_multipart_upload(&bucket, "a", &CopyOptions::default())
        .await
        .unwrap();
    let b = c
        .create_multipart_upload(&bucket, "b/c", &CopyOptions::default())
        .await
        .unwrap();
    let listed = c.list_multipart_uploads(&bucket, None).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|u| u.upload_id == a && u.key == "a"));
    assert!(listed.iter().all(|u| u.initiated.is_some()));
    // moto reports a fixed initiation time (2010-11-10): older than a day, younger than a century
    let century = Duration::from_secs(100 * 365 * 86_400);
    let none = c
        .abort_incomplete_uploads(&bucket, Some(century))
        .await
        .unwrap();
    assert!(none.is_empty(), "nothing is older than a century");
    assert_eq!(
        c.list_multipart_uploads(&bucket, Some("b/")).await.unwrap()[0].upload_id,
        b
    );
    let old = c
        .abort_incomplete_uploads(&bucket, Some(Duration::from_secs(86_400)))
        .await
        .unwrap();
    assert_eq!(old.len(), 2);
    assert!(
        c.list_multipart_uploads(&bucket, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Both ways to stop a copy (the caller's token, a progress callback's `Break`) abort the
/// multipart upload and leave nothing stored; a `Break` stops that copy only, never the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_cancel_aborts() {
    use std::ops::ControlFlow;
    let Some(ep) = moto_endpoint() else { return };
    let c = client(&ep);
    let bucket = unique("cancel").to_lowercase();
    c.create_bucket(&bucket).await.unwrap();
    let big = data((PART + 10) as usize, 9);
    let src = start_source(Bytes::from(big), SourceMode::Normal).await;
    for by_token in [true, false] {
        let cancel = s3_stream::CancelToken::new();
        let cc = cancel.clone();
        let o = CopyOptions {
            cancel: Some(cancel.clone()),
            part_size: Some(PART),
            progress: Some(std::sync::Arc::new(move |_p: &s3_stream::Progress| {
                if by_token {
                    cc.cancel();
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            })),
            ..Default::default()
        };
        let e = c
            .copy(
                Source::Http(HttpSource::new(&src.url)),
                &bucket,
                "cancelled",
                &o,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, s3_stream::Error::Cancelled), "{e}");
        assert_eq!(cancel.is_cancelled(), by_token);
        assert!(
            c.list_multipart_uploads(&bucket, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(c.head_object(&bucket, "cancelled").await.is_err());
    }
}
