//! Protobuf wire helpers: the connector writes its OTLP output directly instead of building
//! message structs, so a flush of many series costs little memory and time.

/// Appends `v` as a base-128 varint.
pub fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Bytes `v` takes as a varint.
pub fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// A field key: field number and wire type, for fields 1 to 15 (one byte).
pub const fn key(field: u8, wire_type: u8) -> u8 {
    (field << 3) | wire_type
}

pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;

/// Appends a length-delimited field holding `body`.
pub fn bytes_field(buf: &mut Vec<u8>, field: u8, body: &[u8]) {
    buf.push(key(field, LEN));
    varint(buf, body.len() as u64);
    buf.extend_from_slice(body);
}

/// Appends a fixed64 field (`fixed64`, `sfixed64` and `double` share the wire format).
pub fn fixed64_field(buf: &mut Vec<u8>, field: u8, v: u64) {
    buf.push(key(field, FIXED64));
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Appends a double field.
pub fn double_field(buf: &mut Vec<u8>, field: u8, v: f64) {
    fixed64_field(buf, field, v.to_bits());
}

/// Appends a varint field.
pub fn varint_field(buf: &mut Vec<u8>, field: u8, v: u64) {
    buf.push(key(field, VARINT));
    varint(buf, v);
}

/// Appends a `sint32` field (zigzag varint).
pub fn sint32_field(buf: &mut Vec<u8>, field: u8, v: i32) {
    varint_field(buf, field, u64::from(((v << 1) ^ (v >> 31)) as u32));
}

/// Reads a varint at the start of `buf`: its value and length.
pub fn read_varint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Appends `messages` (a sequence of varint-length-prefixed messages) as repeated `field`.
pub fn repeated_field(buf: &mut Vec<u8>, field: u8, mut messages: &[u8]) {
    while let Some((len, n)) = read_varint(messages) {
        let end = n.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        let Some(message) = messages.get(..end) else {
            return;
        };
        buf.push(key(field, LEN));
        buf.extend_from_slice(message);
        messages = &messages[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            varint(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v), "{v}");
            assert_eq!(read_varint(&buf), Some((v, buf.len())));
        }
    }

    #[test]
    fn repeated_fields_get_one_key_per_message() {
        let messages = [2, 0xaa, 0xbb, 1, 0xcc];
        let mut buf = Vec::new();
        repeated_field(&mut buf, 7, &messages);
        assert_eq!(buf, [0x3a, 2, 0xaa, 0xbb, 0x3a, 1, 0xcc]);
    }
}
