//! OVF descriptor parse and edit throughput on the largest descriptor of the OVF corpus (the
//! repository's `testdata/corpus/ovf`, see its SOURCES.md).
//!
//! Run: `cargo bench -p benches --bench ovf`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ova_core::ovf::{Descriptor, Edit};
use ova_core::validate::validate_descriptor;

/// The largest parseable `.ovf` of the corpus, as (path, bytes); panics when the corpus is
/// missing or unreadable.
fn largest_descriptor() -> (String, Vec<u8>) {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/corpus/ovf"
    ));
    assert!(dir.is_dir(), "OVF corpus missing at {}", dir.display());
    let mut best: Option<(String, Vec<u8>)> = None;
    for sub in read_dir(dir) {
        if !sub.is_dir() {
            continue;
        }
        for p in read_dir(&sub) {
            if p.extension().is_some_and(|x| x == "ovf") {
                let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                if Descriptor::parse(&bytes).is_ok()
                    && best.as_ref().is_none_or(|(_, b)| bytes.len() > b.len())
                {
                    best = Some((p.display().to_string(), bytes));
                }
            }
        }
    }
    best.unwrap_or_else(|| panic!("no parseable .ovf in {}", dir.display()))
}

/// The entries of a corpus directory; panics when it cannot be read.
fn read_dir(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .collect()
}

fn ovf(c: &mut Criterion) {
    let (name, bytes) = largest_descriptor();
    eprintln!("descriptor: {name} ({} bytes)", bytes.len());
    let d = Descriptor::parse(&bytes).unwrap();
    let system = d.systems()[0].id.clone();
    let edits = [
        Edit::set_virtual_system_type("vmx-07").in_system(&system),
        Edit::set_cpus(4).in_system(&system),
        Edit::set_memory_mib(4096).in_system(&system),
        // the splices are measured, not the hardware check's verdict on this descriptor
        Edit::AllowIncompatibleHardware,
    ];

    let mut g = c.benchmark_group("ovf");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| Descriptor::parse(black_box(&bytes)).unwrap())
    });
    g.bench_function("apply-3-edits", |b| {
        b.iter(|| d.apply(black_box(&edits)).unwrap())
    });
    g.bench_function("parse-apply-3-edits", |b| {
        b.iter(|| {
            Descriptor::parse(black_box(&bytes))
                .unwrap()
                .apply(&edits)
                .unwrap()
        })
    });
    g.bench_function("validate", |b| {
        b.iter(|| validate_descriptor(black_box(&bytes)))
    });
    g.finish();
}

criterion_group!(benches, ovf);
criterion_main!(benches);
