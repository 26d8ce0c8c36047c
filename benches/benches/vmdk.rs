//! Stream-optimized VMDK: grain compression (libdeflate vs flate2 on zlib-rs, the two fast
//! deflate implementations considered), writer and reader throughput on generated disks.

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ova_core::vmdk::{StreamReader, VmdkWriter};

const GRAIN: usize = 65_536;

/// `n` grains: text-like, structured binary, incompressible and zero grains, reproducibly.
fn grains(n: usize) -> Vec<Vec<u8>> {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let words = [
        "the ", "kernel ", "module ", "lib", "usr/", "share ", "config ", "error ", "\n", "int ",
        "return ", "service ",
    ];
    (0..n)
        .map(|i| {
            let mut g = Vec::with_capacity(GRAIN + 16);
            match i % 10 {
                0..=3 => {
                    while g.len() < GRAIN {
                        g.extend_from_slice(
                            words[(next() % words.len() as u64) as usize].as_bytes(),
                        );
                    }
                }
                4..=6 => {
                    while g.len() < GRAIN {
                        let v = next();
                        g.extend_from_slice(&[(v % 16) as u8, 0, (v >> 8) as u8 & 3, 0]);
                    }
                }
                7 => {
                    while g.len() < GRAIN {
                        g.extend_from_slice(&next().to_le_bytes());
                    }
                }
                _ => g.resize(GRAIN, 0),
            }
            g.truncate(GRAIN);
            g
        })
        .collect()
}

fn compression(c: &mut Criterion) {
    let data = grains(64);
    let mut group = c.benchmark_group("grain_compression");
    group.throughput(Throughput::Bytes((data.len() * GRAIN) as u64));
    group.sample_size(10);
    for level in [1, 6] {
        group.bench_function(format!("libdeflate_l{level}"), |b| {
            let mut comp =
                libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
            let mut out = vec![0u8; comp.zlib_compress_bound(GRAIN)];
            b.iter(|| {
                for g in &data {
                    black_box(comp.zlib_compress(g, &mut out).unwrap());
                }
            });
        });
        group.bench_function(format!("flate2_zlib_rs_l{level}"), |b| {
            b.iter(|| {
                for g in &data {
                    let mut z = flate2::write::ZlibEncoder::new(
                        Vec::with_capacity(GRAIN + 1024),
                        flate2::Compression::new(level as u32),
                    );
                    z.write_all(g).unwrap();
                    black_box(z.finish().unwrap());
                }
            });
        });
    }
    group.finish();
}

fn writer_and_reader(c: &mut Criterion) {
    let raw: Vec<u8> = grains(512).concat(); // 32 MiB
    let mut vmdk = Vec::new();
    VmdkWriter::new()
        .write(&raw[..], raw.len() as u64, &mut vmdk)
        .unwrap();
    let mut group = c.benchmark_group("vmdk_stream");
    group.throughput(Throughput::Bytes(raw.len() as u64));
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("write_{threads}_threads"), |b| {
            let w = VmdkWriter::new().with_threads(threads);
            let mut out = Vec::with_capacity(vmdk.len() + (1 << 20));
            b.iter(|| {
                out.clear();
                black_box(w.write(&raw[..], raw.len() as u64, &mut out).unwrap());
            });
        });
    }
    group.bench_function("read", |b| {
        b.iter(|| {
            let r = StreamReader::new(&vmdk[..]).unwrap();
            black_box(r.copy_to(std::io::sink()).unwrap());
        });
    });
    group.finish();
}

criterion_group!(benches, compression, writer_and_reader);
criterion_main!(benches);
