//! Sans-IO tar header parsing and encoding.
//!
//! This module knows the 512-byte header block layouts an OVA may contain — POSIX ustar, the
//! pre-POSIX "v7" layout, GNU (`ustar  \0` magic, base-256 numbers, `././@LongLink` `L`/`K`
//! entries) and pax (`x` and `g` extended headers) — and how to write the one layout ovakit
//! emits: a strict USTAR header (mode 0644, uid/gid 0, integer mtime, name ≤ 100 ASCII bytes, no
//! prefix field). It never performs I/O; the readers in [`crate::archive`] feed it blocks.

/// The size of one tar block.
pub const BLOCK: usize = 512;

/// The largest size a USTAR header can state in its 11 octal digits (8 GiB − 1).
pub const USTAR_MAX_SIZE: u64 = 0o77777777777;

/// Longest name (in bytes) a strict USTAR header written by ovakit may hold.
pub const MAX_NAME: usize = 100;

/// Which header layout an entry was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HeaderFormat {
    /// POSIX ustar (`ustar\0` magic, version `00`), with no extension header in front.
    Ustar,
    /// GNU (`ustar  \0` magic), or any header using a GNU extension (base-256 number, LongLink).
    Gnu,
    /// An entry preceded by a pax `x` (or `g`) extended header.
    Pax,
    /// Pre-POSIX v7 layout (no magic).
    Old,
}

/// The magic field of a header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    /// `ustar\0` + `00`.
    Posix,
    /// `ustar ` + ` \0` (GNU).
    Gnu,
    /// Anything else (v7 headers have zeros here).
    None,
}

/// Problems found while decoding one header block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The stored checksum does not match the block.
    #[error("header checksum mismatch (stored {stored:?}, computed {computed})")]
    Checksum {
        /// The value in the checksum field (`None` when the field is not a number).
        stored: Option<u64>,
        /// The unsigned sum of the block.
        computed: u64,
    },
    /// A numeric field is neither octal nor base-256.
    #[error("invalid {field} field")]
    BadNumber {
        /// Field name (`size`, `mtime`, ...).
        field: &'static str,
    },
    /// A base-256 number does not fit in 64 bits or is negative.
    #[error("{field} field out of range")]
    OutOfRange {
        /// Field name.
        field: &'static str,
    },
}

/// The decoded fields of one header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Name bytes (`prefix/name` joined for ustar, trailing NULs removed).
    pub name: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
    /// Owner id.
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Data size in bytes.
    pub size: u64,
    /// Modification time (seconds since the epoch; may be negative in base-256 headers).
    pub mtime: i64,
    /// The type flag byte (`b'0'`, `0`, `b'5'`, `b'x'`, `b'L'`, ...).
    pub typeflag: u8,
    /// Link target bytes (for hard and symbolic links).
    pub linkname: Vec<u8>,
    /// Which magic the header carries.
    pub magic: Magic,
    /// Whether any numeric field used GNU base-256 encoding.
    pub base256: bool,
    /// The numeric fields written in GNU base-256 (`mode`, `uid`, `gid`, `size`, `mtime`).
    pub base256_fields: Vec<&'static str>,
    /// Whether the ustar `prefix` field was non-empty.
    pub used_prefix: bool,
}

impl Header {
    /// The kind of entry this header introduces.
    pub fn entry_type(&self) -> EntryType {
        EntryType::from_flag(self.typeflag)
    }
}

/// The entry type named by a header's type flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryType {
    /// A regular file (`0`, NUL, or the contiguous-file `7`).
    Regular,
    /// A hard link (`1`).
    HardLink,
    /// A symbolic link (`2`).
    Symlink,
    /// A character device (`3`).
    CharDevice,
    /// A block device (`4`).
    BlockDevice,
    /// A directory (`5`).
    Directory,
    /// A FIFO (`6`).
    Fifo,
    /// A pax extended header for the next entry (`x`).
    PaxLocal,
    /// A pax global extended header (`g`).
    PaxGlobal,
    /// A GNU long name for the next entry (`L`).
    GnuLongName,
    /// A GNU long link target for the next entry (`K`).
    GnuLongLink,
    /// Any other type flag.
    Other(u8),
}

impl EntryType {
    /// Decode a type flag byte.
    pub fn from_flag(flag: u8) -> Self {
        match flag {
            b'0' | 0 | b'7' => Self::Regular,
            b'1' => Self::HardLink,
            b'2' => Self::Symlink,
            b'3' => Self::CharDevice,
            b'4' => Self::BlockDevice,
            b'5' => Self::Directory,
            b'6' => Self::Fifo,
            b'x' => Self::PaxLocal,
            b'g' => Self::PaxGlobal,
            b'L' => Self::GnuLongName,
            b'K' => Self::GnuLongLink,
            other => Self::Other(other),
        }
    }

    /// Whether this header only carries metadata for the entry that follows it.
    pub fn is_extension(self) -> bool {
        matches!(
            self,
            Self::PaxLocal | Self::PaxGlobal | Self::GnuLongName | Self::GnuLongLink
        )
    }
}

/// Whether a block is all zeros (an end-of-archive marker).
pub fn is_zero_block(block: &[u8; BLOCK]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// Number of padding bytes that follow `size` bytes of data to reach a block boundary.
pub fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Bytes occupied by `size` bytes of data once padded to whole blocks.
pub fn padded(size: u64) -> u64 {
    size + padding(size)
}

fn trim_nul(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(i) => &field[..i],
        None => field,
    }
}

/// Parse a numeric field: octal (space/NUL padded) or GNU base-256 (high bit of the first byte).
fn parse_number(field: &[u8], name: &'static str) -> Result<(i128, bool), HeaderError> {
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        // GNU base-256: big-endian two's complement in the bits after the marker bit.
        let negative = first & 0x40 != 0;
        let mut raw: i128 = i128::from(first & 0x7f);
        for &b in &field[1..] {
            raw = (raw << 8) | i128::from(b);
        }
        if negative {
            raw -= 1i128 << (field.len() * 8 - 1);
        }
        return Ok((raw, true));
    }
    let text = trim_nul(field);
    let text: Vec<u8> = text.iter().copied().filter(|&b| b != b' ').collect();
    if text.is_empty() {
        return Ok((0, false));
    }
    let mut value: i128 = 0;
    for &b in &text {
        if !(b'0'..=b'7').contains(&b) {
            return Err(HeaderError::BadNumber { field: name });
        }
        value = value * 8 + i128::from(b - b'0');
        if value > i128::from(u64::MAX) {
            return Err(HeaderError::OutOfRange { field: name });
        }
    }
    Ok((value, false))
}

fn unsigned(field: &[u8], name: &'static str) -> Result<(u64, bool), HeaderError> {
    let (v, b) = parse_number(field, name)?;
    u64::try_from(v)
        .map(|v| (v, b))
        .map_err(|_| HeaderError::OutOfRange { field: name })
}

/// Sum of the block with the checksum field counted as spaces, unsigned and signed.
fn checksums(block: &[u8; BLOCK]) -> (u64, i64) {
    let mut unsigned_sum: u64 = 0;
    let mut signed_sum: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned_sum += u64::from(b);
        signed_sum += i64::from(b as i8);
    }
    (unsigned_sum, signed_sum)
}

/// Decode one non-zero header block.
///
/// # Errors
///
/// [`HeaderError::Checksum`] when the checksum does not match (accepting both the unsigned sum
/// POSIX requires and the signed sum old implementations wrote), [`HeaderError::BadNumber`] or
/// [`HeaderError::OutOfRange`] for an undecodable numeric field.
pub fn parse_header(block: &[u8; BLOCK]) -> Result<Header, HeaderError> {
    let (computed, signed) = checksums(block);
    let stored = parse_number(&block[148..156], "checksum")
        .ok()
        .and_then(|(v, _)| u64::try_from(v).ok());
    match stored {
        Some(s) if s == computed || i64::try_from(s).ok() == Some(signed) => {}
        _ => return Err(HeaderError::Checksum { stored, computed }),
    }
    let magic = match &block[257..265] {
        b"ustar\x0000" => Magic::Posix,
        b"ustar  \x00" => Magic::Gnu,
        m if &m[..6] == b"ustar\x00" => Magic::Posix,
        _ => Magic::None,
    };
    let (mode, b1) = unsigned(&block[100..108], "mode")?;
    let (uid, b2) = unsigned(&block[108..116], "uid")?;
    let (gid, b3) = unsigned(&block[116..124], "gid")?;
    let (size, b4) = unsigned(&block[124..136], "size")?;
    let (mtime, b5) = parse_number(&block[136..148], "mtime")?;
    let mtime = i64::try_from(mtime).map_err(|_| HeaderError::OutOfRange { field: "mtime" })?;
    let mut name = trim_nul(&block[0..100]).to_vec();
    let mut used_prefix = false;
    if magic == Magic::Posix {
        let prefix = trim_nul(&block[345..500]);
        if !prefix.is_empty() {
            used_prefix = true;
            let mut joined = prefix.to_vec();
            joined.push(b'/');
            joined.extend_from_slice(&name);
            name = joined;
        }
    }
    Ok(Header {
        name,
        mode: (mode & 0o7777_7777) as u32,
        uid,
        gid,
        size,
        mtime,
        typeflag: block[156],
        linkname: trim_nul(&block[157..257]).to_vec(),
        magic,
        base256: b1 || b2 || b3 || b4 || b5,
        base256_fields: [
            ("mode", b1),
            ("uid", b2),
            ("gid", b3),
            ("size", b4),
            ("mtime", b5),
        ]
        .into_iter()
        .filter_map(|(f, b)| b.then_some(f))
        .collect(),
        used_prefix,
    })
}

/// One record of a pax extended header (`length key=value\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaxRecord {
    /// The keyword (`path`, `size`, `mtime`, ...).
    pub key: String,
    /// The raw value bytes.
    pub value: Vec<u8>,
}

/// Parse the data of a pax `x` or `g` header.
///
/// # Errors
///
/// A message naming the malformed record when a length is not a number, points past the data, or a
/// record lacks `=` or its final newline.
pub fn parse_pax(mut data: &[u8]) -> Result<Vec<PaxRecord>, String> {
    let mut records = Vec::new();
    while !data.is_empty() {
        if data.iter().all(|&b| b == 0) {
            break;
        }
        let space = data
            .iter()
            .position(|&b| b == b' ')
            .ok_or("pax record without a length")?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("pax record length is not a number")?;
        if len <= space + 1 || len > data.len() {
            return Err(format!(
                "pax record length {len} out of range ({} bytes left)",
                data.len()
            ));
        }
        let record = &data[space + 1..len];
        let Some((&b'\n', body)) = record.split_last() else {
            return Err("pax record does not end with a newline".into());
        };
        let eq = body
            .iter()
            .position(|&b| b == b'=')
            .ok_or("pax record without '='")?;
        let key = String::from_utf8_lossy(&body[..eq]).into_owned();
        records.push(PaxRecord {
            key,
            value: body[eq + 1..].to_vec(),
        });
        data = &data[len..];
    }
    Ok(records)
}

/// Why a strict USTAR header cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The name is empty, longer than [`MAX_NAME`] bytes, not ASCII, or contains NUL.
    #[error("name {name:?} cannot be stored in a strict ustar header ({reason})")]
    BadName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The size does not fit in 11 octal digits and base-256 was not allowed.
    #[error("size {size} exceeds the ustar limit of {USTAR_MAX_SIZE} bytes")]
    TooLarge {
        /// The size.
        size: u64,
    },
}

/// How a USTAR header states a size of 8 GiB or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LargeSize {
    /// Refuse (the caller chunks the file instead).
    Refuse,
    /// Use the GNU base-256 number encoding in the size field (GNU tar, Python `tarfile`, tar-rs
    /// and vSphere read it).
    #[default]
    Base256,
}

fn write_octal(field: &mut [u8], value: u64) {
    // width-1 digits then NUL
    let digits = field.len() - 1;
    let text = format!("{:0width$o}", value, width = digits);
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
}

/// Check that a name can go in a strict ovakit header.
///
/// # Errors
///
/// [`EncodeError::BadName`] when it is empty, longer than 100 bytes, non-ASCII, contains NUL,
/// starts with `/`, or has an empty, `.` or `..` component.
pub fn check_name(name: &str) -> Result<(), EncodeError> {
    let bad = |reason| {
        Err(EncodeError::BadName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME {
        return bad("longer than 100 bytes");
    }
    if !name.is_ascii() || name.bytes().any(|b| b == 0 || b.is_ascii_control()) {
        return bad("not printable ascii");
    }
    if name.starts_with('/') {
        return bad("absolute");
    }
    if name
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return bad("empty, '.' or '..' component");
    }
    Ok(())
}

/// Build a strict USTAR header for a regular file: mode 0644, uid/gid 0, empty owner names,
/// `ustar\0` `00` magic, no prefix.
///
/// # Errors
///
/// [`EncodeError::BadName`] (see [`check_name`]) and [`EncodeError::TooLarge`] when `size` is 8 GiB
/// or more and `large` is [`LargeSize::Refuse`].
pub fn ustar_header(
    name: &str,
    size: u64,
    mtime: u64,
    large: LargeSize,
) -> Result<[u8; BLOCK], EncodeError> {
    check_name(name)?;
    let mut b = [0u8; BLOCK];
    b[..name.len()].copy_from_slice(name.as_bytes());
    write_octal(&mut b[100..108], 0o644);
    write_octal(&mut b[108..116], 0);
    write_octal(&mut b[116..124], 0);
    if size <= USTAR_MAX_SIZE {
        write_octal(&mut b[124..136], size);
    } else if large == LargeSize::Base256 {
        let field = &mut b[124..136];
        field[0] = 0x80;
        field[4..12].copy_from_slice(&size.to_be_bytes());
    } else {
        return Err(EncodeError::TooLarge { size });
    }
    write_octal(&mut b[136..148], mtime.min(0o77777777777));
    b[156] = b'0';
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    set_checksum(&mut b);
    Ok(b)
}

/// Recompute and store the checksum of a header block (six octal digits, NUL, space).
pub fn set_checksum(block: &mut [u8; BLOCK]) {
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    let text = format!("{:06o}\0 ", sum);
    block[148..156].copy_from_slice(text.as_bytes());
}

/// Replace the size field of an existing header block (octal) and fix its checksum.
///
/// # Errors
///
/// [`EncodeError::TooLarge`] when `size` does not fit in 11 octal digits.
pub fn rewrite_size(block: &mut [u8; BLOCK], size: u64) -> Result<(), EncodeError> {
    if size > USTAR_MAX_SIZE {
        return Err(EncodeError::TooLarge { size });
    }
    write_octal(&mut block[124..136], size);
    set_checksum(block);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip() {
        let b = ustar_header("disk.vmdk", 12345, 1_700_000_000, LargeSize::Refuse).unwrap();
        let h = parse_header(&b).unwrap();
        assert_eq!(h.name, b"disk.vmdk");
        assert_eq!(h.size, 12345);
        assert_eq!(h.mode, 0o644);
        assert_eq!(h.mtime, 1_700_000_000);
        assert_eq!(h.magic, Magic::Posix);
        assert!(!h.base256);
        assert_eq!(h.entry_type(), EntryType::Regular);
    }

    #[test]
    fn large_sizes() {
        let big = 9 * (1u64 << 30);
        assert_eq!(
            ustar_header("a", big, 0, LargeSize::Refuse),
            Err(EncodeError::TooLarge { size: big })
        );
        let b = ustar_header("a", big, 0, LargeSize::Base256).unwrap();
        let h = parse_header(&b).unwrap();
        assert_eq!(h.size, big);
        assert!(h.base256);
        let b = ustar_header("a", USTAR_MAX_SIZE, 0, LargeSize::Refuse).unwrap();
        assert_eq!(parse_header(&b).unwrap().size, USTAR_MAX_SIZE);
    }

    #[test]
    fn names() {
        assert!(check_name(&"a".repeat(100)).is_ok());
        assert!(check_name(&"a".repeat(101)).is_err());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "é",
            "a\nb",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("dir/file").is_ok());
    }

    #[test]
    fn checksum_errors() {
        let mut b = ustar_header("x", 1, 0, LargeSize::Refuse).unwrap();
        b[0] = b'y';
        assert!(matches!(
            parse_header(&b),
            Err(HeaderError::Checksum { .. })
        ));
        let zero = [0u8; BLOCK];
        assert!(is_zero_block(&zero));
        assert!(parse_header(&zero).is_err());
    }

    #[test]
    fn negative_base256_mtime() {
        let mut b = ustar_header("x", 1, 0, LargeSize::Refuse).unwrap();
        b[136..148].fill(0xff); // -1
        set_checksum(&mut b);
        assert_eq!(parse_header(&b).unwrap().mtime, -1);
    }

    #[test]
    fn oversized_base256_size() {
        let mut b = ustar_header("x", 1, 0, LargeSize::Refuse).unwrap();
        b[124..136].fill(0xff);
        b[124] = 0x80 | 0x3f;
        set_checksum(&mut b);
        assert!(matches!(
            parse_header(&b),
            Err(HeaderError::OutOfRange { field: "size" })
        ));
    }

    #[test]
    fn bad_octal() {
        let mut b = ustar_header("x", 1, 0, LargeSize::Refuse).unwrap();
        b[124..136].copy_from_slice(b"0000000009z\0");
        set_checksum(&mut b);
        assert_eq!(
            parse_header(&b),
            Err(HeaderError::BadNumber { field: "size" })
        );
    }

    #[test]
    fn pax_records() {
        let r = parse_pax(b"30 mtime=1700000000.123456789\n11 path=ab\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].key, "mtime");
        assert_eq!(r[1].value, b"ab");
        assert!(parse_pax(b"99 path=ab\n").is_err());
        assert!(parse_pax(b"x path=ab\n").is_err());
        assert!(parse_pax(b"9 pathab\n").is_err());
        assert!(parse_pax(b"1 ").is_err());
        assert_eq!(parse_pax(b"\0\0\0").unwrap(), vec![]);
    }

    #[test]
    fn padding_math() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        assert_eq!(padded(513), 1024);
    }

    #[test]
    fn rewrite_size_fixes_checksum() {
        let mut b = ustar_header("x.ovf", 10, 0, LargeSize::Refuse).unwrap();
        rewrite_size(&mut b, 700).unwrap();
        assert_eq!(parse_header(&b).unwrap().size, 700);
    }
}
