//! The codec of the OTLP export methods. The request message comes out as its raw bytes, so
//! `service` decodes it and can answer bad protobuf with `InvalidArgument` (tonic's
//! `ProstCodec` answers `Internal`); the response is prost-encoded.
//!
//! Framing, decompression and `max_recv_msg_size_mib` stay tonic's: the decoder gets exactly
//! one message, already inflated.

use std::marker::PhantomData;

use bytes::{Buf, Bytes};
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Requests as bytes, responses of type `R` (`ExportTraceServiceResponse`, ...).
pub(crate) struct ExportCodec<R>(PhantomData<fn() -> R>);

impl<R> Default for ExportCodec<R> {
    fn default() -> Self {
        ExportCodec(PhantomData)
    }
}

impl<R: Message + Send + 'static> Codec for ExportCodec<R> {
    type Encode = R;
    type Decode = Bytes;
    type Encoder = ResponseEncoder<R>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> ResponseEncoder<R> {
        ResponseEncoder(PhantomData)
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// Hands over the message bytes undecoded.
pub(crate) struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // Splits the message off tonic's buffer: shared, not copied.
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// Encodes a response message with prost.
pub(crate) struct ResponseEncoder<R>(PhantomData<fn() -> R>);

impl<R: Message> Encoder for ResponseEncoder<R> {
    type Item = R;
    type Error = Status;

    fn encode(&mut self, item: R, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // Fails only when the buffer cannot grow, which `EncodeBuf` always can.
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the response: {e}")))
    }
}
