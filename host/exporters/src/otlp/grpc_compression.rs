//! Compression of gRPC requests by Sluice rather than tonic, which compresses gzip at a fixed
//! level 6 with a new encoder per message: `Compressing` wraps the channel, takes each request
//! body tonic framed uncompressed, compresses every message with the exporter's
//! [`Compressor`] (`compression_params.level`, deflate state reused) and marks the frames and
//! the request (`grpc-encoding`) as compressed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderValue;
use http_body_util::{BodyExt, Full};
use tonic::body::Body;
use tonic::transport::Channel;

use crate::client::compression::Compressor;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A channel whose requests' messages are compressed by `compressor`.
#[derive(Clone)]
pub(crate) struct Compressing {
    inner: Channel,
    compressor: Arc<Compressor>,
}

impl Compressing {
    pub(crate) fn new(inner: Channel, compressor: Arc<Compressor>) -> Self {
        Compressing { inner, compressor }
    }
}

impl tower::Service<http::Request<Body>> for Compressing {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone is not ready; the ready one (`self.inner`) serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let compressor = self.compressor.clone();
        Box::pin(async move {
            let Some(encoding) = compressor.encoding() else {
                return inner.call(request).await.map_err(Into::into);
            };
            let (mut parts, body) = request.into_parts();
            let framed = body.collect().await?.to_bytes();
            let body = compress_frames(&framed, &compressor)?;
            parts
                .headers
                .insert("grpc-encoding", HeaderValue::from_static(encoding));
            let request = http::Request::from_parts(parts, Body::new(Full::new(body)));
            inner.call(request).await.map_err(Into::into)
        })
    }
}

/// gRPC length-prefixed messages with each uncompressed one compressed (flag 1). Frames
/// already compressed are kept; a body that is not whole frames is an error.
fn compress_frames(mut framed: &[u8], compressor: &Compressor) -> Result<Bytes, BoxError> {
    let mut out = BytesMut::with_capacity(framed.len() / 3 + 64);
    while !framed.is_empty() {
        let Some((&[flag, a, b, c, d], rest)) = framed.split_first_chunk::<5>() else {
            return Err("a gRPC request body ends inside a frame header".into());
        };
        let len = u32::from_be_bytes([a, b, c, d]) as usize;
        let Some((message, rest)) = rest.split_at_checked(len) else {
            return Err("a gRPC request body ends inside a message".into());
        };
        framed = rest;
        let compressed = match flag {
            0 => compressor.compress(message)?,
            _ => None,
        };
        let Some(compressed) = compressed else {
            out.put_u8(flag);
            out.put_u32(len as u32);
            out.put_slice(message);
            continue;
        };
        let len = u32::try_from(compressed.len())
            .map_err(|_| "a compressed gRPC message is over 4 GiB")?;
        out.put_u8(1);
        out.put_u32(len);
        out.put_slice(&compressed);
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use sluice_config::{Compression, CompressionParams};

    use super::*;

    fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&(message.len() as u32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    #[test]
    fn uncompressed_frames_are_compressed_and_marked() {
        let gzip = Compressor::new(Compression::Gzip, &CompressionParams { level: 1 });
        let message = b"span span span span span".repeat(100);
        let mut body = frame(0, &message);
        body.extend(frame(1, b"already"));
        let out = compress_frames(&body, &gzip).unwrap();
        assert_eq!(out[0], 1);
        let len = u32::from_be_bytes([out[1], out[2], out[3], out[4]]) as usize;
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&out[5..5 + len])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, message);
        assert_eq!(&out[5 + len..], frame(1, b"already").as_slice());
        assert!(compress_frames(&body[..body.len() - 1], &gzip).is_err());
        assert!(compress_frames(&body[..3], &gzip).is_err());
        assert!(compress_frames(&[], &gzip).unwrap().is_empty());
    }
}
