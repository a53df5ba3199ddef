//! The protobuf wire format, for processors that work on a batch's bytes without decoding it
//! (see [`Processor::process_encoded`](crate::Processor::process_encoded)): fields as byte
//! ranges ([`fields`]), varints, [`rewrite`], which rebuilds only the messages on the way to
//! the ones an [`Edit`] changes and copies everything else verbatim, [`filter_items`], and
//! [`SpanDecoder`], which decodes spans without the fields a processor never reads.

mod proto;
mod spans;
mod walk;

pub use proto::{
    Field, Fields, LEN, Malformed, fields, len_field_size, read_varint, varint_len,
    write_len_field, write_varint,
};
pub use spans::SpanDecoder;
pub use walk::{Edit, Last, RetainFields, filter_items, rewrite};

#[cfg(test)]
mod tests;
