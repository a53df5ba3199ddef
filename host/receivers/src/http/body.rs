//! Reading a request body within `max_request_body_size`, on the wire and after decompression.
//!
//! The wire body is read through `http_body_util::Limited` (and refused early when
//! `Content-Length` already says it is too large). Decompression streams into a buffer that
//! never grows past the limit (plus one read chunk), so a small gzip bomb is refused with 413
//! after producing `limit` bytes instead of exhausting memory.

use std::io::{self, Read};

use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Size of one decompression read.
const CHUNK: usize = 64 * 1024;
/// zstd frames may ask for windows up to 2^27 bytes (the library default); allow at least
/// 2^23 (what every standard compression level up to 19 uses), more only for larger limits.
const ZSTD_MIN_WINDOW_LOG: u32 = 23;
const ZSTD_MAX_WINDOW_LOG: u32 = 27;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("request body is larger than max_request_body_size ({limit} bytes)")]
    TooLarge { limit: usize },
    #[error("decompressed request body is larger than max_request_body_size ({limit} bytes)")]
    DecompressedTooLarge { limit: usize },
    #[error("cannot read request body: {0}")]
    Read(String),
    #[error("unsupported Content-Encoding {0:?}; supported: gzip, zstd, deflate")]
    UnsupportedEncoding(String),
    #[error("cannot decompress {encoding} request body: {reason}")]
    Corrupt {
        encoding: &'static str,
        reason: String,
    },
}

/// `Content-Encoding` of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
    Zstd,
    /// HTTP's `deflate` is the zlib format.
    Deflate,
}

impl Encoding {
    pub fn from_headers(headers: &HeaderMap) -> Result<Encoding, BodyError> {
        let Some(value) = headers.get(header::CONTENT_ENCODING) else {
            return Ok(Encoding::Identity);
        };
        let unsupported = || {
            BodyError::UnsupportedEncoding(String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        let value = value.to_str().map_err(|_| unsupported())?.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("identity") {
            Ok(Encoding::Identity)
        } else if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
            Ok(Encoding::Gzip)
        } else if value.eq_ignore_ascii_case("zstd") {
            Ok(Encoding::Zstd)
        } else if value.eq_ignore_ascii_case("deflate") {
            Ok(Encoding::Deflate)
        } else {
            Err(unsupported())
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
            Encoding::Deflate => "deflate",
        }
    }
}

/// Read the wire body, refusing more than `limit` bytes.
pub(crate) async fn read(
    body: axum::body::Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(BodyError::TooLarge { limit }),
        Err(error) => Err(BodyError::Read(error.to_string())),
    }
}

/// Decompress `body`, refusing output larger than `limit` bytes.
pub(crate) fn decompress(
    body: Bytes,
    encoding: Encoding,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let corrupt = |error: io::Error| BodyError::Corrupt {
        encoding: encoding.name(),
        reason: error.to_string(),
    };
    let output = match encoding {
        Encoding::Identity => return Ok(body),
        Encoding::Gzip => read_capped(flate2::read::MultiGzDecoder::new(&body[..]), limit),
        Encoding::Deflate => read_capped(flate2::read::ZlibDecoder::new(&body[..]), limit),
        Encoding::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::with_buffer(&body[..]).map_err(corrupt)?;
            decoder
                .window_log_max(zstd_window_log(limit))
                .map_err(corrupt)?;
            read_capped(decoder, limit)
        }
    };
    match output.map_err(corrupt)? {
        Some(bytes) => Ok(Bytes::from(bytes)),
        None => Err(BodyError::DecompressedTooLarge { limit }),
    }
}

fn zstd_window_log(limit: usize) -> u32 {
    let needed = usize::BITS - limit.saturating_sub(1).leading_zeros();
    needed.clamp(ZSTD_MIN_WINDOW_LOG, ZSTD_MAX_WINDOW_LOG)
}

/// Read `reader` to the end; `None` as soon as it yields more than `limit` bytes. The buffer
/// doubles as it fills but never beyond `limit`.
fn read_capped(mut reader: impl Read, limit: usize) -> io::Result<Option<Vec<u8>>> {
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(Some(out)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n > limit - out.len() {
            return Ok(None);
        }
        if out.capacity() - out.len() < n {
            let target = out
                .capacity()
                .saturating_mul(2)
                .max(out.len() + n)
                .min(limit);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn decompression_stops_at_the_limit_without_growing_past_it() {
        let body = Bytes::from(gzip(&vec![0u8; 4 * 1024 * 1024]));
        let error = decompress(body, Encoding::Gzip, 1024 * 1024).unwrap_err();
        assert!(matches!(
            error,
            BodyError::DecompressedTooLarge { limit: 1048576 }
        ));
    }

    #[test]
    fn decompression_at_exactly_the_limit_is_accepted() {
        let data = vec![7u8; 100_000];
        let out = decompress(Bytes::from(gzip(&data)), Encoding::Gzip, data.len()).unwrap();
        assert_eq!(out.len(), data.len());
        let out = read_capped(&data[..], data.len()).unwrap().unwrap();
        assert!(out.capacity() <= data.len());
    }

    #[test]
    fn zstd_and_deflate_round_trip() {
        let data = b"hello hello hello hello".repeat(100);
        let zstd = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(
            &decompress(zstd.into(), Encoding::Zstd, 1 << 20).unwrap()[..],
            &data[..]
        );
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&data).unwrap();
        let zlib = zlib.finish().unwrap();
        assert_eq!(
            &decompress(zlib.into(), Encoding::Deflate, 1 << 20).unwrap()[..],
            &data[..]
        );
    }

    #[test]
    fn corrupt_input_names_the_encoding() {
        let error = decompress(Bytes::from_static(b"not gzip"), Encoding::Gzip, 1024).unwrap_err();
        assert!(
            error.to_string().starts_with("cannot decompress gzip"),
            "{error}"
        );
    }

    #[test]
    fn zstd_window_grows_with_the_limit_within_bounds() {
        assert_eq!(zstd_window_log(1024), 23);
        assert_eq!(zstd_window_log(20 * 1024 * 1024), 25);
        assert_eq!(zstd_window_log(usize::MAX), 27);
    }
}
