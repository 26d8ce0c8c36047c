//! Inputs the fuzz targets found to crash the crate (`tests/data/fuzz/`, see its README): each
//! now gives a typed error.

use std::io::Cursor;
use std::path::PathBuf;

use ova_core::ovf::Descriptor;
use ova_core::vmdk;

fn input(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_second_byte_order_mark_is_an_xml_error() {
    let bytes = input("ovf_parse-double-bom");
    assert!(matches!(
        Descriptor::parse(&bytes),
        Err(ova_core::Error::OvfXml { .. })
    ));
}

#[test]
fn a_header_offset_past_any_file_is_a_header_error() {
    let bytes = input("vmdk_read-huge-overhead");
    assert!(matches!(
        vmdk::StreamReader::new(&bytes[..]),
        Err(ova_core::Error::VmdkHeader { .. })
    ));
    // inspection reports it instead of panicking
    let _ = vmdk::inspect(Cursor::new(&bytes));
}
