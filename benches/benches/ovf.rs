//! OVF descriptor parse and edit throughput on the largest descriptor of the shared corpus.
//!
//! Run: `cargo bench -p benches --bench ovf`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ova_core::ovf::{Descriptor, Edit};
use ova_core::validate::validate_descriptor;

/// The largest `.ovf` of the corpus, or `None` (with a message) when the corpus is absent.
fn largest_descriptor() -> Option<(String, Vec<u8>)> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/ovf"
    ));
    let mut best: Option<(String, Vec<u8>)> = None;
    for sub in std::fs::read_dir(dir).ok()? {
        let sub = sub.ok()?.path();
        if !sub.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&sub).ok()? {
            let p = f.ok()?.path();
            if p.extension().is_some_and(|x| x == "ovf") {
                let bytes = std::fs::read(&p).ok()?;
                if Descriptor::parse(&bytes).is_ok()
                    && best.as_ref().is_none_or(|(_, b)| bytes.len() > b.len())
                {
                    best = Some((p.display().to_string(), bytes));
                }
            }
        }
    }
    best
}

fn ovf(c: &mut Criterion) {
    let Some((name, bytes)) = largest_descriptor() else {
        eprintln!("skipping: the shared OVF corpus is not next to the checkout");
        return;
    };
    eprintln!("descriptor: {name} ({} bytes)", bytes.len());
    let d = Descriptor::parse(&bytes).unwrap();
    let system = d.systems()[0].id.clone();
    let edits = [
        Edit::set_virtual_system_type("vmx-07").in_system(&system),
        Edit::set_cpus(4).in_system(&system),
        Edit::set_memory_mib(4096).in_system(&system),
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
