//! OVA throughput: manifest hashing (SHA1/SHA256/SHA512), the hashed copy used by repack, a
//! whole repack of a generated package, and an in-place descriptor edit.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ova_core::manifest::Algorithm;
use ova_core::no_progress;
use ova_core::package::{Ova, RepackOptions};
use ova_core::write::{ManifestChoice, OvaWriter, copy_hashed};

const MIB: usize = 1 << 20;

/// Incompressible generated input.
fn data(len: usize) -> Vec<u8> {
    test_support::data::xorshift32(len, 0)
}

const OVF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="SIZE"/>
  </References>
  <VirtualSystem ovf:id="vm1">
    <Info>vm</Info>
    <Name>bench</Name>
    <VirtualHardwareSection>
      <Info>hw</Info>
      <System>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#;

fn sample(dir: &std::path::Path, disk: &[u8]) -> std::path::PathBuf {
    let ovf = OVF.replace("SIZE", &disk.len().to_string());
    let mut w = OvaWriter::new(Vec::new());
    w.add_descriptor("bench.ovf", ovf.as_bytes()).unwrap();
    let mf = format!(
        "SHA256(bench.ovf)= {}\nSHA256(disk1.vmdk)= {}\n",
        hex_of(&Algorithm::Sha256.digest(ovf.as_bytes())),
        hex_of(&Algorithm::Sha256.digest(disk))
    );
    w.add_manifest("bench.mf", mf.as_bytes()).unwrap();
    w.add_file("disk1.vmdk", disk.len() as u64, disk, &[])
        .unwrap();
    let p = dir.join("bench.ova");
    std::fs::write(&p, w.finish().unwrap()).unwrap();
    p
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hashing(c: &mut Criterion) {
    let buf = data(64 * MIB);
    let mut g = c.benchmark_group("manifest_hash");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.sample_size(10);
    for alg in Algorithm::ALL {
        g.bench_function(alg.token(), |b| {
            b.iter(|| black_box(alg.digest(black_box(&buf))))
        });
    }
    g.finish();
}

fn copying(c: &mut Criterion) {
    let buf = data(64 * MIB);
    let mut g = c.benchmark_group("hashed_copy");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.sample_size(10);
    let mut out = Vec::with_capacity(buf.len());
    g.bench_function("sha256_pipeline", |b| {
        b.iter(|| {
            out.clear();
            copy_hashed(
                &mut &buf[..],
                &mut out,
                &[Algorithm::Sha256],
                &mut no_progress,
            )
            .unwrap()
        })
    });
    g.bench_function("plain_copy", |b| {
        b.iter(|| {
            out.clear();
            copy_hashed(&mut &buf[..], &mut out, &[], &mut no_progress).unwrap()
        })
    });
    g.finish();
}

fn repack_and_edit(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let disk = data(128 * MIB);
    let src = sample(tmp.path(), &disk);
    let out = tmp.path().join("out.ova");
    let mut g = c.benchmark_group("ova");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(disk.len() as u64));
    g.bench_function("repack_sha256", |b| {
        let ova = Ova::open(&src).unwrap();
        let opts = RepackOptions::new().with_manifest(ManifestChoice::Fresh(Algorithm::Sha256));
        b.iter(|| ova.repack(&out, &opts, &mut no_progress).unwrap())
    });
    g.bench_function("verify_manifest", |b| {
        let ova = Ova::open(&src).unwrap();
        b.iter(|| ova.verify_manifest(&mut no_progress).unwrap())
    });
    g.throughput(Throughput::Elements(1));
    let mut cpus = 1u64;
    g.bench_function("edit_in_place", |b| {
        b.iter(|| {
            cpus = cpus % 8 + 1;
            let edit = ova_core::ovf::Edit::set_virtual_system_type(format!("vmx-{:02}", 7 + cpus));
            Ova::edit_in_place(&src, &[edit]).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, hashing, copying, repack_and_edit);
criterion_main!(benches);
