//! The protobuf wire format, for processors that work on a batch's bytes without decoding it
//! (see [`Processor::process_encoded`](crate::Processor::process_encoded)): fields as byte
//! ranges ([`fields`]), varints, [`rewrite`], which rebuilds only the messages on the way to
//! the ones an [`Edit`] changes and copies everything else verbatim, and [`filter_items`].

mod proto;
mod walk;

pub use proto::{
    Field, Fields, LEN, Malformed, fields, len_field_size, read_varint, varint_len,
    write_len_field, write_varint,
};
pub use walk::{Edit, Last, RetainFields, filter_items, rewrite};

#[cfg(test)]
mod tests;
