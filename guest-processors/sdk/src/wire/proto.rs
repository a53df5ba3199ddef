//! Just enough of the protobuf wire format to walk OTLP messages without decoding them:
//! fields as byte ranges, varints, and writing length-delimited fields back.

/// The framing of the bytes is broken. A processor's fast path gives up and returns `None`
/// from `process_encoded`, so that the decoded path reports the error properly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

pub const LEN: u8 = 2;

/// One field of a message: `tag_start..end` is the whole field (tag, length, value) and
/// `value` the payload of a length-delimited field (empty for the other wire types).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub number: u32,
    pub wire_type: u8,
    pub tag_start: usize,
    pub value: (usize, usize),
    pub end: usize,
}

#[inline]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, Malformed> {
    // Tags and most lengths are one byte.
    if let Some(&byte) = buf.get(*pos)
        && byte < 0x80
    {
        *pos += 1;
        return Ok(u64::from(byte));
    }
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or(Malformed)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

#[inline]
pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Writes field `number` as a length-delimited field holding `value`.
#[inline]
pub fn write_len_field(out: &mut Vec<u8>, number: u32, value: &[u8]) {
    write_varint(out, u64::from(number) << 3 | u64::from(LEN));
    write_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// The fields of one message, in order.
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

pub fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf, pos: 0 }
}

impl Fields<'_> {
    #[inline(always)]
    fn field(&mut self) -> Result<Field, Malformed> {
        let tag_start = self.pos;
        let tag = read_varint(self.buf, &mut self.pos)?;
        let number = u32::try_from(tag >> 3).map_err(|_| Malformed)?;
        let wire_type = (tag & 7) as u8;
        if number == 0 {
            return Err(Malformed);
        }
        let mut value = (self.pos, self.pos);
        match wire_type {
            0 => {
                read_varint(self.buf, &mut self.pos)?;
            }
            1 => self.pos += 8,
            LEN => {
                let len = read_varint(self.buf, &mut self.pos)?;
                let len = usize::try_from(len).map_err(|_| Malformed)?;
                let end = self.pos.checked_add(len).ok_or(Malformed)?;
                value = (self.pos, end);
                self.pos = end;
            }
            5 => self.pos += 4,
            _ => return Err(Malformed),
        }
        if self.pos > self.buf.len() {
            return Err(Malformed);
        }
        Ok(Field {
            number,
            wire_type,
            tag_start,
            value,
            end: self.pos,
        })
    }
}

impl Iterator for Fields<'_> {
    type Item = Result<Field, Malformed>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            // Stop after the first error.
            self.pos = self.buf.len();
        }
        Some(field)
    }
}

/// Bytes `value` takes as a varint.
#[inline]
pub fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes a length-delimited field `number` holding `len` bytes takes.
#[inline]
pub fn len_field_size(number: u32, len: usize) -> usize {
    varint_len(u64::from(number) << 3 | u64::from(LEN)) + varint_len(len as u64) + len
}
