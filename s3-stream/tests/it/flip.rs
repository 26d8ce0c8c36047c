//! A byte flipped on the way to the store, under default settings, on every server of the test
//! matrix (s3s-fs in-process; moto, the oldest and newest moto 5.x, ministack and s3rver when
//! scripts/test.sh started them): the copy fails, or the damaged body is refused and sent again;
//! it never ends well with a corrupt object.

use std::sync::atomic::Ordering;

use crate::common::*;
use s3_stream::plan::MIB;
use s3_stream::{CopyOptions, Credentials, Source};
use test_support::proxy::{flipping_proxy, loopback_addr};

/// Copies `len` bytes through a proxy that flips one byte at `flip_at`, with default options
/// (but `part_size`), and checks the outcome.
async fn copy_through_flip(name: &str, s: &MatrixServer, len: usize, flip_at: u64) {
    let direct = s.client();
    let bucket = unique("flip").to_lowercase();
    direct.create_bucket(&bucket).await.unwrap();
    let proxy = flipping_proxy(loopback_addr(&s.endpoint), flip_at);
    let flipped = proxy.flipped;
    let proxy = proxy.addr;
    let via = s3_stream::Client::builder()
        .with_endpoint(format!("http://{proxy}"))
        .with_region("us-east-1")
        .with_credentials(Credentials::new(&s.access_key, &s.secret_key))
        .with_retry(fast_retry())
        .build()
        .unwrap();
    let d = data(len, 77);
    let key = format!("flipped-{len}");
    let o = CopyOptions {
        part_size: Some(5 * MIB),
        ..Default::default()
    };
    let r = via
        .copy(
            Source::reader("r", std::io::Cursor::new(d.clone())),
            &bucket,
            &key,
            &o,
        )
        .await;
    assert!(
        flipped.load(Ordering::SeqCst),
        "{name}: nothing was flipped"
    );
    match r {
        Ok(report) => {
            let got = direct.get_object(&bucket, &key).await.unwrap();
            assert_eq!(
                sha256_hex(&got),
                sha256_hex(&d),
                "{name}: a copy that reported success stored a corrupt object ({report:?})"
            );
            eprintln!(
                "{name}: {len} bytes, the damaged body was refused and sent again (check {})",
                report.part_checksum
            );
        }
        Err(e) => {
            if let Ok(got) = direct.get_object(&bucket, &key).await {
                assert_eq!(
                    sha256_hex(&got),
                    sha256_hex(&d),
                    "{name}: a failed copy left a corrupt object ({e})"
                );
            }
            eprintln!("{name}: {len} bytes, the copy failed: {e}");
        }
    }
}

async fn flip_suite(s: MatrixServer) {
    // multipart: the flip lands in a part body
    copy_through_flip(s.name, &s, (10 * MIB + 1000) as usize, MIB).await;
    // one PUT
    copy_through_flip(s.name, &s, (MIB / 2) as usize, 300 * 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_is_never_stored_silently() {
    let fs = start_s3s_fs().await;
    flip_suite(MatrixServer::s3s_fs(&fs.endpoint)).await;
    for s in matrix_servers() {
        flip_suite(s).await;
    }
}
