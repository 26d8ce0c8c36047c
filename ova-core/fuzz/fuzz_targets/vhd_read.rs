//! VHD reading (fixed and dynamic): any input gives raw bytes or a typed error, never a
//! panic, and never more raw bytes than the footer's current size.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use ova_core::disk::vhd::VhdReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = VhdReader::new(Cursor::new(data)) {
        let size = reader.virtual_size();
        let mut out = Limited(Vec::new(), 8 << 20);
        if reader.copy_to(&mut out).is_ok() {
            assert!(out.0.len() as u64 <= size);
        }
    }
});

struct Limited(Vec<u8>, usize);

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > self.1 {
            return Err(std::io::Error::other("output limit"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
