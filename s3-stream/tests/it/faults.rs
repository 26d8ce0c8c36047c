//! Fault injection: an in-memory S3 on loopback that fails chosen requests, and HTTP sources that
//! break, lie or change. Every successful case reads the object back and compares digests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common::*;
use bytes::Bytes;
use s3_stream::plan::PartLimits;
use s3_stream::{CopyOptions, Error, HttpSource, PartChecksum, Source};

const PART: u64 = 64 * 1024;

fn opts() -> CopyOptions {
    CopyOptions {
        part_size: Some(PART),
        concurrency: 3,
        sha256: true,
        ..Default::default()
    }
}

fn payload() -> Vec<u8> {
    data((5 * PART + 1000) as usize, 42)
}

/// `d` as a stream of unknown length (a reader named `r`).
fn reader(d: &[u8]) -> Source {
    Source::reader("r", std::io::Cursor::new(d.to_vec()))
}

async fn copy_ok(
    mock: &MockS3,
    src: Source,
    key: &str,
    want: &[u8],
    o: &CopyOptions,
) -> s3_stream::CopyReport {
    let r = mock.client().copy(src, "b", key, o).await.unwrap();
    let got = mock.object(key).expect("object stored");
    assert_eq!(sha256_hex(&got), sha256_hex(want));
    assert_eq!(r.sha256.as_deref(), Some(sha256_hex(want).as_str()));
    assert_eq!(mock.open_uploads(), 0);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_chosen_parts_are_retried() {
    let mock = MockS3::start(|s| match (s.op, s.part, s.attempt) {
        ("UploadPart", Some(2), 0) => Some(Fault::Status(500, "InternalError")),
        ("UploadPart", Some(4), 0 | 1) => Some(Fault::Status(503, "SlowDown")),
        ("UploadPart", Some(5), 0) => Some(Fault::Status(429, "TooManyRequests")),
        _ => None,
    })
    .await;
    let d = payload();
    let r = copy_ok(&mock, reader(&d), "k", &d, &opts()).await;
    assert_eq!(r.parts, 6);
    assert_eq!(mock.count("UploadPart", Some(2)), 2);
    assert_eq!(mock.count("UploadPart", Some(4)), 3);
    assert_eq!(mock.count("UploadPart", Some(1)), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_mid_part_are_retried() {
    let mock = MockS3::start(|s| match (s.op, s.part, s.attempt) {
        ("UploadPart", Some(1), 0) | ("UploadPart", Some(3), 0) => Some(Fault::Drop),
        ("CreateMultipartUpload", _, 0) => Some(Fault::Drop),
        _ => None,
    })
    .await;
    let d = payload();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    std::fs::write(&p, &d).unwrap();
    copy_ok(&mock, Source::file(&p), "k", &d, &opts()).await;
    assert_eq!(mock.count("UploadPart", Some(3)), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_inside_200_from_complete_is_retried() {
    let mock = MockS3::start(|s| match (s.op, s.attempt) {
        ("CompleteMultipartUpload", 0) => Some(Fault::ErrorIn200),
        _ => None,
    })
    .await;
    let d = payload();
    copy_ok(&mock, reader(&d), "k", &d, &opts()).await;
    assert_eq!(mock.count("CompleteMultipartUpload", None), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_such_upload_after_a_lost_complete_response_is_checked_with_head() {
    let mock = MockS3::start(|s| match (s.op, s.attempt) {
        ("CompleteMultipartUpload", 0) => Some(Fault::DropAfter),
        _ => None,
    })
    .await;
    let d = payload();
    let r = copy_ok(&mock, reader(&d), "k", &d, &opts()).await;
    assert_eq!(mock.count("CompleteMultipartUpload", None), 2);
    assert!(r.etag.unwrap().ends_with("-6\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_refuses_every_retry_leaves_no_upload() {
    let mock = MockS3::start(|s| match (s.op, s.part) {
        ("UploadPart", Some(3)) => Some(Fault::Status(503, "SlowDown")),
        _ => None,
    })
    .await;
    let d = payload();
    let e = mock
        .client()
        .copy(
            Source::reader("r", std::io::Cursor::new(d)),
            "b",
            "k",
            &opts(),
        )
        .await
        .unwrap_err();
    let msg = e.to_string();
    let ctx = e.s3_context().expect("s3 error");
    assert_eq!(ctx.part, Some(3));
    assert_eq!(ctx.status, Some(503));
    assert_eq!(ctx.code.as_deref(), Some("SlowDown"));
    assert!(ctx.upload_id.is_some());
    assert!(
        msg.contains("part 3")
            && msg.contains("503")
            && msg.contains("SlowDown")
            && msg.contains("upload id"),
        "{msg}"
    );
    assert_eq!(
        mock.count("UploadPart", Some(3)),
        4,
        "1 attempt + 3 retries"
    );
    assert_eq!(mock.open_uploads(), 0);
    assert!(
        mock.client()
            .list_multipart_uploads("b", None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(mock.object("k").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_is_retried_and_a_failed_abort_is_reported() {
    let mock = MockS3::start(|s| match (s.op, s.part, s.attempt) {
        ("UploadPart", Some(2), _) => Some(Fault::Status(403, "AccessDenied")),
        ("AbortMultipartUpload", _, 0) => Some(Fault::Status(500, "InternalError")),
        _ => None,
    })
    .await;
    let d = payload();
    let e = mock
        .client()
        .copy(reader(&d), "b", "k", &opts())
        .await
        .unwrap_err();
    assert_eq!(
        e.s3_context().unwrap().code.as_deref(),
        Some("AccessDenied")
    );
    assert_eq!(mock.count("UploadPart", Some(2)), 1, "403 is not retried");
    assert_eq!(mock.count("AbortMultipartUpload", None), 2);
    assert_eq!(mock.open_uploads(), 0);

    let mock = MockS3::start(|s| match (s.op, s.part) {
        ("UploadPart", Some(2)) => Some(Fault::Status(403, "AccessDenied")),
        ("AbortMultipartUpload", _) => Some(Fault::Status(500, "InternalError")),
        _ => None,
    })
    .await;
    let e = mock
        .client()
        .copy(
            Source::reader("r", std::io::Cursor::new(d)),
            "b",
            "k",
            &opts(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UploadLeftOpen { .. }), "{e}");
    assert!(e.to_string().contains("could not be aborted"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_closing_mid_body_is_resumed_by_range() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let src = start_source(
        Bytes::from(d.clone()),
        SourceMode::BreakOnceAt(2 * PART as usize + 17),
    )
    .await;
    let r = copy_ok(&mock, Source::url(&src.url), "k", &d, &opts()).await;
    assert_eq!(r.source_resumes, 1);
    assert_eq!(src.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_that_lies_about_its_length_fails_cleanly() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let src = start_source(Bytes::from(d), SourceMode::LiesAboutLength(5000)).await;
    let e = mock
        .client()
        .copy(Source::url(&src.url), "b", "k", &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::CannotResume { .. } | Error::Truncated { .. }),
        "{e}"
    );
    assert!(mock.object("k").is_none());
    assert_eq!(mock.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_that_changes_between_requests_is_never_mixed() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let src = start_source(
        Bytes::from(d),
        SourceMode::ChangesAfterBreak(PART as usize + 5),
    )
    .await;
    let e = mock
        .client()
        .copy(Source::url(&src.url), "b", "k", &opts())
        .await
        .unwrap_err();
    match &e {
        Error::CannotResume { reason, .. } => assert!(reason.contains("changed"), "{reason}"),
        other => panic!("{other}"),
    }
    assert!(mock.object("k").is_none());
    assert_eq!(mock.open_uploads(), 0);
}

/// A resumed source whose server ignores `If-Range` and answers with a 206 of a new version: the
/// 206's validators differ from the first response's, so the copy stops and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_206_of_another_version_is_never_mixed_in() {
    for mode in [
        SourceMode::ChangesIgnoringIfRange(PART as usize + 5),
        SourceMode::ChangesIgnoringIfRangeLastModifiedOnly(PART as usize + 5),
    ] {
        let mock = MockS3::start(|_| None).await;
        let src = start_source(Bytes::from(payload()), mode).await;
        let e = mock
            .client()
            .copy(Source::url(&src.url), "b", "k", &opts())
            .await
            .unwrap_err();
        match &e {
            Error::CannotResume { reason, .. } => {
                assert!(reason.contains("changed"), "{mode:?}: {reason}");
                assert!(reason.contains("ignored If-Range"), "{mode:?}: {reason}");
            }
            other => panic!("{mode:?}: {other}"),
        }
        assert_eq!(src.requests.load(Ordering::SeqCst), 2, "{mode:?}");
        assert!(mock.object("k").is_none(), "{mode:?}");
        assert_eq!(mock.open_uploads(), 0, "{mode:?}");
    }
}

/// A source without Range support answers the resume with `200` and the same strong ETag: the
/// whole object again, of which the bytes already read are dropped; the copy completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_ignores_range_is_read_again_from_the_start() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let src = start_source(
        Bytes::from(d.clone()),
        SourceMode::IgnoresRange(PART as usize + 5),
    )
    .await;
    let r = copy_ok(&mock, Source::url(&src.url), "k", &d, &opts()).await;
    assert_eq!(r.source_resumes, 1);
    assert_eq!(src.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_that_keeps_breaking_gives_up() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let src = start_source(Bytes::from(d), SourceMode::AlwaysBreakAt(1000)).await;
    let s = HttpSource::new(&src.url).with_max_resumes(3);
    let e = mock
        .client()
        .copy(Source::Http(s), "b", "k", &opts())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::CannotResume { .. }), "{e}");
    assert_eq!(src.requests.load(Ordering::SeqCst), 4);
    assert_eq!(mock.open_uploads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_length_fails_before_part_max_plus_one() {
    let mock = MockS3::start(|_| None).await;
    let client = s3_stream::Client::builder()
        .with_endpoint(&mock.endpoint)
        .with_credentials(s3_stream::Credentials::new(AK, SK))
        .with_part_limits(PartLimits {
            min_part_size: 1024,
            max_parts: 3,
            ..PartLimits::default()
        })
        .build()
        .unwrap();
    let d = data(3 * 1024 + 1, 5);
    let o = CopyOptions {
        part_size: Some(1024),
        ..Default::default()
    };
    let e = client
        .copy(Source::reader("r", std::io::Cursor::new(d)), "b", "k", &o)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooManyParts { max_parts: 3, .. }), "{e}");
    assert_eq!(
        mock.count("UploadPart", Some(4)),
        0,
        "part 4 must never be sent"
    );
    assert_eq!(mock.open_uploads(), 0);
    // exactly 3 parts fit
    let d = data(3 * 1024, 5);
    client.copy(reader(&d), "b", "k", &o).await.unwrap();
    assert_eq!(mock.object("k").unwrap(), Bytes::from(d));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_size_is_enforced() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let short = CopyOptions {
        expected_size: Some(d.len() as u64 + 1),
        ..opts()
    };
    let e = mock
        .client()
        .copy(reader(&d), "b", "k", &short)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Truncated { .. }), "{e}");
    let long = CopyOptions {
        expected_size: Some(d.len() as u64 - 1),
        ..opts()
    };
    let e = mock
        .client()
        .copy(reader(&d), "b", "k", &long)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLong { .. }), "{e}");
    assert_eq!(mock.open_uploads(), 0);
    assert!(mock.object("k").is_none());
    let exact = CopyOptions {
        expected_size: Some(d.len() as u64),
        ..opts()
    };
    let r = copy_ok(&mock, reader(&d), "k", &d, &exact).await;
    assert_eq!(r.parts, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_bounded_with_a_slow_destination() {
    let mock = MockS3::start(|s| (s.op == "UploadPart").then_some(Fault::Delay(30))).await;
    let d = data((12 * PART) as usize, 8);
    let conc = 2u64;
    let worst = Arc::new(AtomicU64::new(0));
    let w = worst.clone();
    let o = CopyOptions {
        concurrency: conc as usize,
        progress: Some(Arc::new(move |p: &s3_stream::Progress| {
            w.fetch_max(p.bytes_read - p.bytes_uploaded, Ordering::SeqCst);
            std::ops::ControlFlow::Continue(())
        })),
        ..opts()
    };
    copy_ok(&mock, reader(&d), "k", &d, &o).await;
    assert!(mock.max_in_flight_parts.load(Ordering::SeqCst) <= conc as usize);
    let worst = worst.load(Ordering::SeqCst);
    assert!(worst <= (conc + 1) * PART, "read ahead {worst} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crc32c_parts_and_acl_errors() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let o = CopyOptions {
        part_checksum: PartChecksum::Crc32c,
        ..opts()
    };
    let r = copy_ok(&mock, reader(&d), "k", &d, &o).await;
    assert_eq!(r.crc32c, Some(format!("{:08x}", crc32c::crc32c(&d))));
    let c = mock.client();
    c.put_object_acl("b", "k", "public-read").await.unwrap();
    assert_eq!(
        mock.state.lock().unwrap().acls.get("k").map(String::as_str),
        Some("public-read")
    );
    let e = c
        .put_object_acl("b", "no-acl", "public-read")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AclNotSupported { .. }), "{e}");
    assert!(e.to_string().contains("does not allow ACLs"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_client_copies() {
    let mock = MockS3::start(|_| None).await;
    let ep = mock.endpoint.clone();
    let d = payload();
    let d2 = d.clone();
    let r = tokio::task::spawn_blocking(move || {
        let c = s3_stream::blocking::Client::new(
            s3_stream::Client::builder()
                .with_endpoint(ep)
                .with_credentials(s3_stream::Credentials::new(AK, SK))
                .with_part_limits(PartLimits {
                    min_part_size: 1024,
                    ..PartLimits::default()
                }),
        )
        .unwrap();
        c.copy(
            Source::reader("r", std::io::Cursor::new(d2)),
            "b",
            "k",
            &opts(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(r.parts, 6);
    assert_eq!(mock.object("k").unwrap(), Bytes::from(d));
}

/// The integrity headers the store saw on every UploadPart.
fn part_headers(mock: &MockS3) -> Vec<SeenHeaders> {
    mock.state
        .lock()
        .unwrap()
        .headers
        .iter()
        .filter(|h| h.op == "UploadPart")
        .cloned()
        .collect()
}

fn unsigned_client(mock: &MockS3) -> s3_stream::Client {
    mock.builder()
        .with_payload_signing(s3_stream::PayloadSigning::Unsigned)
        .build()
        .unwrap()
}

/// The default check: every part carries its CRC32C; until the store has echoed one, its MD5
/// too. A store that echoes (S3) costs no MD5 after the first parts; one that does not (moto)
/// gets Content-MD5 on every part, and the returned ETags are compared with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_check_adapts_to_what_the_store_verifies() {
    let d = payload();
    // A store that echoes CRC32C: MD5 only while no answer has come back.
    let mock = MockS3::start(|_| None).await;
    let r = copy_ok(&mock, reader(&d), "k", &d, &opts()).await;
    assert_eq!(r.part_checksum, PartChecksum::Crc32c);
    let seen = part_headers(&mock);
    assert_eq!(seen.len(), 6);
    assert!(seen.iter().all(|h| h.crc32c), "{seen:?}");
    // part 6 is read only after an earlier part's answer released its memory: by then the store
    // has shown that it verifies CRC32C, so neither MD5 nor a signed payload comes with it
    let last = seen.iter().find(|h| h.part == Some(6)).unwrap();
    assert!(!last.content_md5, "{last:?}");
    assert_eq!(last.content_sha256, "UNSIGNED-PAYLOAD", "{last:?}");
    assert!(!r.payload_signed, "a part went without a signed payload");
    // the first part, sent before any answer, is signed
    let first = seen.iter().find(|h| h.part == Some(1)).unwrap();
    assert_eq!(first.content_sha256.len(), 64, "{first:?}");
    assert!(r.etag.unwrap().ends_with("-6\""));

    // A store that does not echo: Content-MD5 on every part.
    let mock = MockS3::start(|s| (s.op == "UploadPart").then_some(Fault::NoChecksumEcho)).await;
    let r = unsigned_client(&mock)
        .copy(reader(&d), "b", "k", &opts())
        .await
        .unwrap();
    assert_eq!(sha256_hex(&mock.object("k").unwrap()), sha256_hex(&d));
    assert!(!r.payload_signed);
    assert_eq!(r.part_checksum, PartChecksum::ContentMd5);
    for h in &part_headers(&mock) {
        assert!(h.content_md5 && h.crc32c, "{h:?}");
        assert_eq!(h.content_sha256, "UNSIGNED-PAYLOAD");
    }

    // Asked for explicitly, Content-MD5 alone comes on top of the signed payload.
    let mock = MockS3::start(|_| None).await;
    let o = CopyOptions {
        part_checksum: PartChecksum::ContentMd5,
        ..opts()
    };
    let r = copy_ok(&mock, reader(&d), "k", &d, &o).await;
    assert_eq!(r.part_checksum, PartChecksum::ContentMd5);
    assert!(
        part_headers(&mock)
            .iter()
            .all(|h| h.content_md5 && !h.crc32c && h.content_sha256.len() == 64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_damaged_on_the_way_is_refused_by_the_store_and_sent_again() {
    let d = payload();
    let hook = |s: &Seen| match (s.op, s.part, s.attempt) {
        ("UploadPart", Some(2), 0) => Some(Fault::Corrupt),
        ("UploadPart", Some(5), 0 | 1) => Some(Fault::Corrupt),
        _ => None,
    };
    // The default check (a signed payload until the store echoes a CRC32C, then the CRC32C),
    // then an unsigned client's (CRC32C and Content-MD5): each catches it.
    let mock = MockS3::start(hook).await;
    copy_ok(&mock, reader(&d), "k", &d, &opts()).await;
    assert_eq!(mock.count("UploadPart", Some(2)), 2);
    assert_eq!(mock.count("UploadPart", Some(5)), 3);

    let mock = MockS3::start(hook).await;
    unsigned_client(&mock)
        .copy(reader(&d), "b", "k", &opts())
        .await
        .unwrap();
    assert_eq!(sha256_hex(&mock.object("k").unwrap()), sha256_hex(&d));
    assert_eq!(mock.count("UploadPart", Some(5)), 3);

    // Damaged every time: the error names the part and the store's code; nothing is left.
    let mock = MockS3::start(|s| (s.part == Some(4)).then_some(Fault::Corrupt)).await;
    let e = mock
        .client()
        .copy(reader(&d), "b", "k", &opts())
        .await
        .unwrap_err();
    let ctx = e.s3_context().expect("s3 error");
    assert_eq!(ctx.part, Some(4));
    // Part 4 goes signed when no part's CRC32C has been echoed yet (the store answers with the
    // SHA-256 mismatch), unsigned once one has (its CRC32C, then BadDigest): which, depends on
    // the order in which the concurrent parts are answered.
    assert!(
        matches!(
            ctx.code.as_deref(),
            Some("XAmzContentSHA256Mismatch" | "BadDigest")
        ),
        "{ctx:?}"
    );
    assert_eq!(mock.open_uploads(), 0);
    assert!(mock.object("k").is_none());
}

/// A store that checks nothing keeps a part damaged on the way and answers with the digests of
/// what it kept: the client sees the mismatch (the echoed CRC32C, or the ETag against the MD5)
/// and sends the part again; a part damaged every time fails the copy, naming the part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_the_store_kept_damaged_is_sent_again() {
    let d = payload();
    for unsigned in [false, true] {
        let mock = MockS3::start(|s| match (s.op, s.part, s.attempt) {
            ("UploadPart", Some(3), 0) | ("UploadPart", Some(6), 0 | 1) => {
                Some(Fault::CorruptUnchecked)
            }
            _ => None,
        })
        .await;
        let c = if unsigned {
            unsigned_client(&mock)
        } else {
            mock.client()
        };
        c.copy(reader(&d), "b", "k", &opts()).await.unwrap();
        assert_eq!(sha256_hex(&mock.object("k").unwrap()), sha256_hex(&d));
        assert_eq!(mock.count("UploadPart", Some(3)), 2);
        assert_eq!(mock.count("UploadPart", Some(6)), 3);
    }

    let mock = MockS3::start(|s| (s.part == Some(4)).then_some(Fault::CorruptUnchecked)).await;
    let e = unsigned_client(&mock)
        .copy(reader(&d), "b", "k", &opts())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, Error::Integrity { .. }) && msg.contains("part 4"),
        "{msg}"
    );
    assert_eq!(
        mock.count("UploadPart", Some(4)),
        3,
        "sent, then twice again"
    );
    assert_eq!(mock.open_uploads(), 0);
    assert!(mock.object("k").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_with_the_wrong_etag_is_deleted_and_reported() {
    let d = payload();
    for unsigned in [false, true] {
        let mock =
            MockS3::start(|s| (s.op == "CompleteMultipartUpload").then_some(Fault::WrongEtag))
                .await;
        let c = if unsigned {
            unsigned_client(&mock)
        } else {
            mock.client()
        };
        let e = c.copy(reader(&d), "b", "k", &opts()).await.unwrap_err();
        assert!(matches!(e, Error::Integrity { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("multipart etag") && msg.contains("the object was deleted"),
            "{msg}"
        );
        assert!(mock.object("k").is_none(), "wrong object left in place");
        assert_eq!(mock.open_uploads(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_from_an_http_source_go_out_with_their_exact_length() {
    // S3 refuses chunked transfer encoding: every part streamed from an HTTP source goes out
    // with its exact Content-Length.
    let d = payload();
    let src = start_source(Bytes::from(d.clone()), SourceMode::Normal).await;
    let mock = MockS3::start(|_| None).await;
    copy_ok(
        &mock,
        Source::Http(HttpSource::new(&src.url)),
        "k",
        &d,
        &opts(),
    )
    .await;
    let seen = part_headers(&mock);
    assert_eq!(seen.len(), 6);
    for h in &seen {
        assert!(!h.chunked, "{h:?}");
        let want = if h.part == Some(6) { 1000 } else { PART };
        assert_eq!(h.content_length, Some(want), "{h:?}");
    }
}

#[tokio::test]
async fn an_acl_the_store_dropped_is_applied_after_the_upload() {
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let o = CopyOptions {
        acl: Some("public-read".into()),
        ..opts()
    };
    copy_ok(&mock, reader(&d), "k", &d, &o).await;
    assert_eq!(
        mock.count("GetObjectAcl", None),
        2,
        "checked, then checked again"
    );
    assert_eq!(mock.count("PutObjectAcl", None), 1, "applied once");
    assert_eq!(
        mock.state.lock().unwrap().acls.get("k").map(String::as_str),
        Some("public-read")
    );
    // already in effect: checked, not set again
    copy_ok(&mock, reader(&d), "k", &d, &o).await;
    assert_eq!(mock.count("PutObjectAcl", None), 1);
}

#[tokio::test]
async fn an_object_writer_stores_only_when_finished() {
    use tokio::io::AsyncWriteExt;
    let mock = MockS3::start(|_| None).await;
    let d = payload();
    let c = mock.client();
    let mut w = c.writer("b", "w", &opts());
    for chunk in d.chunks(7777) {
        w.write_all(chunk).await.unwrap();
    }
    let r = w.finish().await.unwrap();
    assert_eq!(r.bytes, d.len() as u64);
    assert!(r.multipart);
    assert!(mock.object("w").unwrap() == d);

    // dropped before finish: no object, the upload aborted
    let mut w = c.writer("b", "dropped", &opts());
    w.write_all(&d[..3 * PART as usize]).await.unwrap();
    drop(w);
    for _ in 0..200 {
        if mock.open_uploads() == 0 && mock.count("CreateMultipartUpload", None) == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(mock.object("dropped").is_none());
    assert_eq!(mock.open_uploads(), 0);

    // aborted explicitly
    let mut w = c.writer("b", "aborted", &opts());
    w.write_all(&d).await.unwrap();
    w.abort().await.unwrap();
    assert!(mock.object("aborted").is_none());
    assert_eq!(mock.open_uploads(), 0);
}
