//! `set(attributes["k"], literal)` and `delete_key(attributes, "k")` on the encoded
//! attributes of one message, with the decoded path's exact semantics: `set` replaces the
//! value of the first entry with the key or appends a new entry; `delete_key` removes every
//! entry with the key.

use sluice_guest_sdk::wire::{LEN, Malformed, fields, write_len_field};

/// An attribute edit, with its value already encoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `value`: the encoded `AnyValue`.
    Set {
        key: String,
        value: Vec<u8>,
    },
    Delete {
        key: String,
    },
}

impl Op {
    fn key(&self) -> &[u8] {
        match self {
            Op::Set { key, .. } | Op::Delete { key } => key.as_bytes(),
        }
    }

    fn value(&self) -> &[u8] {
        match self {
            Op::Set { value, .. } => value,
            Op::Delete { .. } => &[],
        }
    }
}

/// One entry of the attribute list while the edits are applied. Ranges index the message.
#[derive(Debug, Clone, Copy)]
pub enum Entry {
    /// An entry as it arrived: the `KeyValue` bytes, its key, and its value when it has
    /// exactly one (`None`: absent or repeated, so never "equal").
    Orig {
        kv: (usize, usize),
        key: (usize, usize),
        value: Option<(usize, usize)>,
    },
    /// An arrived entry whose value is the one of `ops[op]`.
    Replaced { kv: (usize, usize), op: usize },
    /// A new entry: `ops[op]`'s key and value.
    New { op: usize },
}

/// Reused between messages so that editing allocates nothing once warm.
#[derive(Debug, Default)]
pub struct Scratch {
    entries: Vec<Entry>,
    kv: Vec<u8>,
}

fn slice(msg: &[u8], r: (usize, usize)) -> &[u8] {
    &msg[r.0..r.1]
}

fn key_of<'a>(msg: &'a [u8], ops: &'a [Op], e: &Entry) -> &'a [u8] {
    match *e {
        Entry::Orig { key, .. } => slice(msg, key),
        Entry::Replaced { op, .. } | Entry::New { op } => ops[op].key(),
    }
}

/// Reads the entries of the repeated `KeyValue` field `attr_field`.
fn collect(msg: &[u8], attr_field: u32, entries: &mut Vec<Entry>) -> Result<(), Malformed> {
    entries.clear();
    for field in fields(msg) {
        let field = field?;
        if field.number != attr_field {
            continue;
        }
        if field.wire_type != LEN {
            return Err(Malformed);
        }
        let kv = field.value;
        let body = slice(msg, kv);
        let mut key = (kv.0, kv.0);
        let mut value = None;
        let mut values = 0;
        for f in fields(body) {
            let f = f?;
            if f.number == 1 || f.number == 2 {
                if f.wire_type != LEN {
                    return Err(Malformed);
                }
                let range = (kv.0 + f.value.0, kv.0 + f.value.1);
                if f.number == 1 {
                    key = range;
                } else {
                    values += 1;
                    value = Some(range);
                }
            }
        }
        entries.push(Entry::Orig {
            kv,
            key,
            value: if values == 1 { value } else { None },
        });
    }
    Ok(())
}

/// Applies `ops` to the attributes of `msg` (`None`: an absent message, edited as an empty
/// one) and, if anything changed, writes the edited message into `out`.
pub fn attributes(
    msg: Option<&[u8]>,
    attr_field: u32,
    ops: &[Op],
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<bool, Malformed> {
    let msg = msg.unwrap_or_default();
    let Scratch { entries, kv } = scratch;
    collect(msg, attr_field, entries)?;
    let arrived = entries.len();
    let mut changed = false;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Set { value, .. } => {
                let found = entries.iter().position(|e| key_of(msg, ops, e) == op.key());
                match found {
                    None => entries.push(Entry::New { op: i }),
                    Some(at) => {
                        let (same, next) = match entries[at] {
                            Entry::Orig { kv, value: v, .. } => (
                                v.is_some_and(|v| slice(msg, v) == value.as_slice()),
                                Entry::Replaced { kv, op: i },
                            ),
                            Entry::Replaced { kv, op } => {
                                (ops[op].value() == value, Entry::Replaced { kv, op: i })
                            }
                            Entry::New { op } => (ops[op].value() == value, Entry::New { op: i }),
                        };
                        if same {
                            continue;
                        }
                        entries[at] = next;
                    }
                }
                changed = true;
            }
            Op::Delete { key } => {
                let before = entries.len();
                entries.retain(|e| key_of(msg, ops, e) != key.as_bytes());
                changed |= entries.len() != before;
            }
        }
    }
    if !changed {
        return Ok(false);
    }
    let originals = entries
        .iter()
        .take_while(|e| matches!(e, Entry::Orig { .. }))
        .count();
    if originals == arrived {
        // Only additions: the message as it arrived, the new entries after it.
        out.reserve(msg.len() + 64);
        out.extend_from_slice(msg);
        write_entries(msg, attr_field, ops, &entries[originals..], kv, out)?;
    } else {
        write(msg, attr_field, ops, entries, kv, out)?;
    }
    Ok(true)
}

/// The message with its other fields as they were and the attribute entries at the end
/// (field order does not change what a message decodes to; entry order is kept).
fn write(
    msg: &[u8],
    attr_field: u32,
    ops: &[Op],
    entries: &[Entry],
    kv: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    out.reserve(msg.len() + 64);
    let mut copied = 0;
    for field in fields(msg) {
        let field = field?;
        if field.number == attr_field {
            out.extend_from_slice(&msg[copied..field.tag_start]);
            copied = field.end;
        }
    }
    out.extend_from_slice(&msg[copied..]);
    write_entries(msg, attr_field, ops, entries, kv, out)
}

fn write_entries(
    msg: &[u8],
    attr_field: u32,
    ops: &[Op],
    entries: &[Entry],
    kv: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    for e in entries {
        match *e {
            Entry::Orig { kv: range, .. } => write_len_field(out, attr_field, slice(msg, range)),
            Entry::Replaced { kv: range, op } => {
                // The entry's other fields as they were, then the new value.
                let body = slice(msg, range);
                kv.clear();
                let mut copied = 0;
                for f in fields(body) {
                    let f = f?;
                    if f.number == 2 {
                        kv.extend_from_slice(&body[copied..f.tag_start]);
                        copied = f.end;
                    }
                }
                kv.extend_from_slice(&body[copied..]);
                write_len_field(kv, 2, ops[op].value());
                write_len_field(out, attr_field, kv);
            }
            Entry::New { op } => {
                kv.clear();
                write_len_field(kv, 1, ops[op].key());
                write_len_field(kv, 2, ops[op].value());
                write_len_field(out, attr_field, kv);
            }
        }
    }
    Ok(())
}
