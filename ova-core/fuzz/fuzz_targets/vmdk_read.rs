//! Stream-optimized VMDK reading: any input gives raw bytes or a typed error, never a panic,
//! and never more raw bytes than the header's capacity; `inspect` never panics either.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use ova_core::vmdk;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = vmdk::StreamReader::new(data) {
        let capacity = reader.capacity();
        let mut out = Vec::new();
        // bounded: copy into a sink that stops growing past a few MiB of output
        let mut sink = Limited(&mut out, 8 << 20);
        if reader.copy_to(&mut sink).is_ok() {
            assert!(out.len() as u64 <= capacity);
        }
    }
    let _ = vmdk::inspect(Cursor::new(data));
});

struct Limited<'a>(&'a mut Vec<u8>, usize);

impl std::io::Write for Limited<'_> {
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
