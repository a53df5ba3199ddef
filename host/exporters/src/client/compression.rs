//! Request compression (`compression`, `compression_params.level`): gzip at the chosen level,
//! and zstd.
//!
//! gzip is libdeflate's: a request body is always compressed whole, which is the one thing
//! libdeflate does, and at level 6 (the default, as in the Collector) it compresses OTLP
//! requests ~24% faster than zlib-rs for ~4% more bytes (`bench/README.md`). Its compressor
//! (hash tables of some hundreds of KiB) is kept between requests: tonic's own gzip makes a
//! new encoder per message, at a fixed level 6.

use std::io;

use parking_lot::Mutex;
use sluice_config::{Compression, CompressionParams};

/// Compressors kept for the next requests: as many as requests compressed at once, up to
/// this many.
const IDLE_STATES: usize = 4;

/// Compresses request bodies as an exporter's settings say.
pub(crate) struct Compressor {
    compression: Compression,
    gzip_level: libdeflater::CompressionLvl,
    zstd_level: i32,
    idle: Mutex<Vec<libdeflater::Compressor>>,
}

impl Compressor {
    pub(crate) fn new(compression: Compression, params: &CompressionParams) -> Self {
        Compressor {
            compression,
            // `gzip_level()` is 1..=9, which libdeflate accepts.
            gzip_level: i32::try_from(params.gzip_level())
                .ok()
                .and_then(|l| libdeflater::CompressionLvl::new(l).ok())
                .unwrap_or_default(),
            zstd_level: params.zstd_level(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The `Content-Encoding` / `grpc-encoding` token, if any.
    pub(crate) fn encoding(&self) -> Option<&'static str> {
        self.compression.encoding()
    }

    /// `body` compressed, or `None` without compression.
    pub(crate) fn compress(&self, body: &[u8]) -> io::Result<Option<Vec<u8>>> {
        match self.compression {
            Compression::None => Ok(None),
            Compression::Gzip => self.gzip(body).map(Some),
            Compression::Zstd => zstd::bulk::compress(body, self.zstd_level).map(Some),
        }
    }

    fn gzip(&self, body: &[u8]) -> io::Result<Vec<u8>> {
        let idle = self.idle.lock().pop();
        let mut compressor = idle.unwrap_or_else(|| libdeflater::Compressor::new(self.gzip_level));
        let mut out = vec![0; compressor.gzip_compress_bound(body.len())];
        let written = compressor
            .gzip_compress(body, &mut out)
            .map_err(|e| io::Error::other(format!("gzip: {e}")))?;
        out.truncate(written);
        // The bound is about the size of the input; a body kept for retries should not hold it.
        out.shrink_to_fit();
        let mut idle = self.idle.lock();
        if idle.len() < IDLE_STATES {
            idle.push(compressor);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn body() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| format!("span-{} attribute {i}\n", i % 97).into_bytes())
            .collect()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    #[test]
    fn gzip_at_every_level_round_trips_and_states_are_reused() {
        let body = body();
        let mut sizes = Vec::new();
        for level in [1, 6, 9] {
            let compressor = Compressor::new(Compression::Gzip, &CompressionParams { level });
            for _ in 0..3 {
                let out = compressor.compress(&body).unwrap().unwrap();
                assert_eq!(gunzip(&out), body, "level {level}");
                assert_eq!(out.capacity(), out.len(), "no room kept for the bound");
                sizes.push(out.len());
            }
            assert_eq!(compressor.idle.lock().len(), 1, "one state, reused");
            assert_eq!(compressor.encoding(), Some("gzip"));
        }
        // A reused state compresses as a new one; the level is applied (1 is larger).
        assert_eq!(sizes[0], sizes[2]);
        assert!(sizes[0] > sizes[3] && sizes[0] > sizes[6], "{sizes:?}");
        let empty = Compressor::new(Compression::Gzip, &CompressionParams::default());
        assert!(gunzip(&empty.compress(&[]).unwrap().unwrap()).is_empty());
    }

    #[test]
    fn zstd_and_none() {
        let body = body();
        let zstd = Compressor::new(Compression::Zstd, &CompressionParams { level: 19 });
        let out = zstd.compress(&body).unwrap().unwrap();
        assert_eq!(zstd::bulk::decompress(&out, body.len()).unwrap(), body);
        let none = Compressor::new(Compression::None, &CompressionParams::default());
        assert_eq!(none.compress(&body).unwrap(), None);
        assert_eq!(none.encoding(), None);
    }
}
