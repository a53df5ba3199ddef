//! The protobuf wire format, for processors that work on a batch's bytes without decoding it
//! (see [`Processor::process_encoded`](crate::Processor::process_encoded)): fields as byte
//! ranges ([`fields`]), varints, and [`rewrite`], which rebuilds only the messages on the way
//! to the ones a processor edits and copies everything else verbatim.

mod proto;
mod walk;

pub use proto::{
    Field, Fields, LEN, Malformed, fields, read_varint, retain_fields, write_len_field,
    write_varint,
};
pub use walk::{Last, Leaf, filter_items, rewrite};

#[cfg(test)]
mod tests;
