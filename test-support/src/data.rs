//! Deterministic, incompressible test bytes: the same seed gives the same bytes on every run, so
//! a failure can be reproduced, and compression cannot make a large input small.

/// `len` bytes of the 64-bit xorshift sequence (shifts 13, 7, 17) started from `seed | 1` (the
/// state must not be zero): the low byte of each state.
pub fn xorshift64(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `len` bytes of the 32-bit xorshift sequence (shifts 13, 17, 5) started from
/// `0x9e37_79b9 ^ seed`: the low byte of each state.
pub fn xorshift32(len: usize, seed: u32) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        assert_eq!(xorshift64(1000, 7), xorshift64(1000, 7));
        assert_ne!(xorshift64(1000, 7), xorshift64(1000, 9));
        assert_eq!(xorshift32(1000, 1), xorshift32(1000, 1));
        assert_ne!(xorshift32(1000, 1), xorshift32(1000, 2));
        // a prefix of a longer run is the shorter run
        assert_eq!(xorshift64(10, 3)[..], xorshift64(100, 3)[..10]);
    }

    #[test]
    fn first_values_are_the_sequences_own() {
        // x = 1: x ^= x << 13 -> 0x2001; x ^= x >> 7 -> 0x2041; x ^= x << 17 -> 0x4082_2041
        assert_eq!(xorshift64(1, 0), [0x41]);
        // x = 0x9e3779b9: the first step computed by hand
        let mut x: u32 = 0x9e37_79b9;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        assert_eq!(xorshift32(1, 0), [x as u8]);
    }

    #[test]
    fn bytes_are_spread_over_every_value() {
        for d in [xorshift64(1 << 16, 5), xorshift32(1 << 16, 5)] {
            let mut seen = [0u32; 256];
            for b in &d {
                seen[usize::from(*b)] += 1;
            }
            assert!(seen.iter().all(|&n| n > 128), "{seen:?}");
        }
    }
}
