//! s3-stream hot paths: request signing, part planning, and the per-byte hashing budget of the
//! part checks (MD5 for Content-MD5 and ETag comparison, CRC32C for `x-amz-checksum-crc32c` and
//! the whole-stream check, SHA-256 for signed payloads).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use md5::Digest as _;
use s3_stream::plan::{MIB, PartLimits, PartPlan};
use s3_stream::sigv4::{self, Signer};
use s3_stream::{Credentials, Timestamp, sigv2};

fn signing(c: &mut Criterion) {
    let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let time = Timestamp::parse_iso8601("2015-08-30T12:36:00Z").unwrap();
    let headers: Vec<(String, String)> = vec![
        ("host".into(), "127.0.0.1:9000".into()),
        ("content-md5".into(), "XUFAKrxLKna5cZ2REBfFkg==".into()),
        (
            "x-amz-content-sha256".into(),
            sigv4::UNSIGNED_PAYLOAD.into(),
        ),
        ("x-amz-date".into(), time.amz_date()),
    ];
    let mut g = c.benchmark_group("sign");
    g.bench_function("sigv4_upload_part", |b| {
        b.iter(|| {
            let s = Signer {
                credentials: &creds,
                region: "us-east-1",
                service: "s3",
                time,
            };
            let r = sigv4::Request {
                method: "PUT",
                path: "/bucket/images/disk%20image.ova",
                query: "partNumber=17&uploadId=VXBsb2FkIElE",
                headers: &headers,
            };
            black_box(s.authorization(black_box(&r), sigv4::UNSIGNED_PAYLOAD))
        })
    });
    g.bench_function("sigv2_upload_part", |b| {
        b.iter(|| {
            let res = sigv2::canonical_resource(
                None,
                "/bucket/images/disk%20image.ova",
                "partNumber=17&uploadId=VXBsb2FkIElE",
            );
            let sts = sigv2::string_to_sign("PUT", black_box(&headers), &res, None);
            black_box(sigv2::authorization(&creds, &sts))
        })
    });
    g.finish();
}

fn planning(c: &mut Criterion) {
    c.bench_function("plan_5tib_and_walk_ranges", |b| {
        b.iter(|| {
            let p = PartPlan::new(Some(black_box(5 << 40)), None, PartLimits::default()).unwrap();
            let mut sum = 0u64;
            for n in 1..=p.part_count().unwrap() {
                let r = p.part_range(n);
                sum += r.end - r.start;
            }
            black_box(sum)
        })
    });
}

fn hashing(c: &mut Criterion) {
    let part = vec![0x5au8; 8 * MIB as usize];
    let mut g = c.benchmark_group("hash_8mib_part");
    g.throughput(Throughput::Bytes(part.len() as u64));
    g.sample_size(20);
    g.bench_function("md5", |b| {
        b.iter(|| black_box(md5::Md5::digest(black_box(&part))))
    });
    g.bench_function("sha256", |b| {
        b.iter(|| black_box(sha2::Sha256::digest(black_box(&part))))
    });
    g.bench_function("crc32c", |b| {
        b.iter(|| black_box(crc32c::crc32c(black_box(&part))))
    });
    // what s3-stream computes for every part (x-amz-checksum-crc32c and the whole-stream check)
    g.bench_function("crc32c_crc_fast", |b| {
        b.iter(|| {
            black_box(crc_fast::checksum(
                crc_fast::CrcAlgorithm::Crc32Iscsi,
                black_box(&part),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, signing, planning, hashing);
criterion_main!(benches);
