//! The `hash_seed` mode's hash: FNV-1a 32-bit over the seed's four little-endian bytes and
//! then the data (the Collector's `fnvhasher.go`), turned into an OTEP 235 randomness value
//! the way `randomnessFromBytes` (`sampler_mode.go`) does.

use crate::sampling::Randomness;

const FNV32_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

/// Bits of the hash the decision uses (`numHashBucketsLg2`).
pub const HASH_BUCKETS_LG2: u32 = 14;
/// `numHashBuckets`, `0x4000`.
pub const HASH_BUCKETS: u32 = 1 << HASH_BUCKETS_LG2;
/// `bitMaskHashBuckets`, `0x3fff`.
pub const HASH_BUCKET_MASK: u32 = HASH_BUCKETS - 1;

/// FNV-1a 32 of `seed` (little-endian, as Go's `i32tob`) followed by `data` (`computeHash`).
pub fn compute_hash(data: &[u8], seed: u32) -> u32 {
    seed.to_le_bytes()
        .iter()
        .chain(data)
        .fold(FNV32_OFFSET_BASIS, |hash, &b| {
            (hash ^ u32::from(b)).wrapping_mul(FNV32_PRIME)
        })
}

/// The 56-bit randomness the Collector derives from the hash: the 14 most-significant bits
/// are `0x3fff - (hash & 0x3fff)`, so that `threshold <= randomness` exactly when
/// `hash & 0x3fff < scaled rate` (the original decision); the other bits mix the unused 18
/// bits of the hash and repeat the 14 used ones.
pub fn randomness_from_bytes(data: &[u8], seed: u32) -> Randomness {
    let hashed32 = compute_hash(data, seed);
    let hashed = u64::from(hashed32 & HASH_BUCKET_MASK);
    let rprime14 = u64::from(HASH_BUCKETS) - 1 - hashed;
    let unused18 = u64::from(hashed32 >> (32 - HASH_BUCKETS_LG2));
    let mixed28 = unused18 ^ (unused18 << 10);
    let rnd56 = (rprime14 << 42) | (mixed28 << 14) | hashed;
    Randomness::from_unsigned(rnd56).unwrap_or(Randomness::ALL_PROBABILITIES)
}
