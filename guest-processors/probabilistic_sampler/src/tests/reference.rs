//! An independent reference for `hash_seed` mode, written directly from the Collector's Go
//! source rather than from this crate's code path (which goes through 56-bit randomness and
//! thresholds):
//!
//! ```go
//! // processor/probabilisticsamplerprocessor/fnvhasher.go
//! func computeHash(b []byte, seed uint32) uint32 {
//!     hash := fnv.New32a()
//!     _, _ = hash.Write(i32tob(seed))   // r[i] = byte((val >> (8 * i)) & 0xff): little-endian
//!     _, _ = hash.Write(b)
//!     return hash.Sum32()
//! }
//! // processor/probabilisticsamplerprocessor/sampler_mode.go (makeSampler, hash_seed)
//! scaledSamplerate := uint32(pct * percentageScaleFactor)   // float32 product, truncated
//! // percentageScaleFactor = numHashBuckets / 100.0, numHashBuckets = 0x4000
//! // randomnessFromBytes: hashed := uint64(hashed32 & bitMaskHashBuckets)  // 0x3fff
//! // ... "Ordinarily, hashed is compared against an acceptance threshold i.e., sampled when
//! //      hashed < scaledSamplerate"
//! ```
//!
//! Go's `hash/fnv` 32-bit FNV-1a: offset basis 2166136261, prime 16777619, `hash ^= b` then
//! `hash *= prime` per byte.

/// `computeHash`, computed with 64-bit arithmetic reduced mod 2^32.
pub fn go_compute_hash(data: &[u8], seed: u32) -> u32 {
    let mut hash: u64 = 2_166_136_261;
    let seed_bytes = [
        (seed & 0xff) as u8,
        ((seed >> 8) & 0xff) as u8,
        ((seed >> 16) & 0xff) as u8,
        ((seed >> 24) & 0xff) as u8,
    ];
    for &b in seed_bytes.iter().chain(data.iter()) {
        hash ^= u64::from(b);
        hash = (hash * 16_777_619) % (1u64 << 32);
    }
    hash as u32
}

/// `uint32(pct * percentageScaleFactor)` with Go's float32 arithmetic and the `> 100`
/// clamp.
pub fn go_scaled_rate(pct: f32) -> u32 {
    let pct = if pct > 100.0 { 100.0 } else { pct };
    let factor: f32 = 16384.0 / 100.0;
    (pct * factor) as u32
}

/// The original decision: sampled when `hash & 0x3fff < scaledSamplerate`.
pub fn go_hash_seed_sampled(trace_id: &[u8; 16], seed: u32, pct: f32) -> bool {
    (go_compute_hash(trace_id, seed) & 0x3fff) < go_scaled_rate(pct)
}

/// A small deterministic generator (SplitMix64) for random trace ids in tests.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A random, non-zero trace id.
    pub fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        id[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        if id == [0; 16] {
            id[15] = 1;
        }
        id
    }
}
