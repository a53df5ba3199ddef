//! `set(attributes["k"], literal)` and `delete_key(attributes, "k")` on the encoded
//! attributes of one message, with the decoded path's exact semantics: `set` replaces the
//! value of the first entry with the key or appends a new entry; `delete_key` removes every
//! entry with the key.

use memchr::memmem::Finder;
use sluice_guest_sdk::wire::{
    Edit, LEN, Malformed, fields, len_field_size, read_varint, write_len_field,
};

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
    plan: Plan,
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

/// Reads the entries of the repeated `KeyValue` field `attr_field`; returns the bytes
/// their fields take.
fn collect(msg: &[u8], attr_field: u32, entries: &mut Vec<Entry>) -> Result<usize, Malformed> {
    entries.clear();
    let mut bytes = 0;
    for field in fields(msg) {
        let field = field?;
        if field.number != attr_field {
            continue;
        }
        if field.wire_type != LEN {
            return Err(Malformed);
        }
        bytes += field.end - field.tag_start;
        let kv = field.value;
        let body = slice(msg, kv);
        if let Some((key, value)) = canonical_kv(body) {
            entries.push(Entry::Orig {
                kv,
                key: (kv.0 + key.0, kv.0 + key.1),
                value: Some((kv.0 + value.0, kv.0 + value.1)),
            });
            continue;
        }
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
    Ok(bytes)
}

/// The key and value ranges of a `KeyValue` encoded as every SDK encodes one: the key
/// (field 1), then one value (field 2), nothing else. `None` for any other shape.
#[inline]
fn canonical_kv(body: &[u8]) -> Option<((usize, usize), (usize, usize))> {
    let len_field = |tag: u8, pos: usize| -> Option<(usize, usize)> {
        if body.get(pos) != Some(&tag) {
            return None;
        }
        let mut at = pos + 1;
        let len = usize::try_from(read_varint(body, &mut at).ok()?).ok()?;
        let end = at.checked_add(len)?;
        (end <= body.len()).then_some((at, end))
    };
    let key = len_field(0x0a, 0)?;
    let value = len_field(0x12, key.1)?;
    (value.1 == body.len()).then_some((key, value))
}

/// The attribute edits of one pass as an [`Edit`]: `plan` applies `ops` to a message's
/// entries (kept in `scratch`) and sizes the result, `write` writes it.
pub struct Attributes<'a> {
    /// The repeated `KeyValue` field of the edited messages.
    pub field: u32,
    pub ops: &'a [Op],
    pub scratch: &'a mut Scratch,
    /// What `ops` do to a message that has none of their keys, when known: such a message
    /// (the common case) is then planned without collecting its entries.
    pub absent_keys: Option<AbsentKeys<'a>>,
}

/// A message that has none of the ops' keys: how to recognise it, and what it gets.
#[derive(Clone, Copy)]
pub struct AbsentKeys<'a> {
    /// Finds such messages without walking their fields.
    pub search: &'a KeySearch,
    /// The attribute fields appended to such a message ([`tail`]); `None`: it is unchanged.
    pub tail: Option<&'a [u8]>,
}

/// The attribute fields `ops` give a message that has none of their keys (appended to it
/// as it is), or `None` when they leave such a message unchanged.
pub fn tail(field: u32, ops: &[Op]) -> Result<Option<Vec<u8>>, Malformed> {
    let mut scratch = Scratch::default();
    let mut edit = Attributes {
        field,
        ops,
        scratch: &mut scratch,
        absent_keys: None,
    };
    if edit.plan(Some(&[]))?.is_none() {
        return Ok(None);
    }
    let mut out = Vec::new();
    edit.write(Some(&[]), &mut out)?;
    Ok(Some(out))
}

/// Searches a message's bytes for the keys of some ops. An entry's key is a contiguous run of
/// the message's bytes, so a message in which no key occurs anywhere has none of them as an
/// attribute key: it is planned without walking its fields, and copied as it arrived, as the
/// fields the walk does not enter always were (checking what a span holds is not this path's
/// job: the receivers check every request against the OTLP schema). A key that occurs, in a
/// value or anywhere else, only means the walk runs.
#[derive(Debug)]
pub struct KeySearch {
    finders: Vec<Finder<'static>>,
}

impl KeySearch {
    pub fn new(ops: &[Op]) -> KeySearch {
        KeySearch {
            finders: ops
                .iter()
                .map(|op| Finder::new(op.key()).into_owned())
                .collect(),
        }
    }

    /// Whether none of the keys occurs in `msg`. `false` without searching in a guest built
    /// without SIMD, where `memchr`'s byte-at-a-time search costs more than the walk.
    #[inline]
    fn none_in(&self, msg: &[u8]) -> bool {
        cfg!(any(not(target_family = "wasm"), target_feature = "simd128"))
            && self.finders.iter().all(|f| f.find(msg).is_none())
    }
}

/// Whether no attribute of `msg` has one of the keys of `ops`; `false` also when an entry is
/// not in the canonical shape (the general plan handles it).
fn keys_absent(msg: &[u8], field: u32, ops: &[Op]) -> Result<bool, Malformed> {
    for f in fields(msg) {
        let f = f?;
        if f.number != field {
            continue;
        }
        if f.wire_type != LEN {
            return Err(Malformed);
        }
        let body = slice(msg, f.value);
        let Some((key, _)) = canonical_kv(body) else {
            return Ok(false);
        };
        let key = slice(body, key);
        if ops.iter().any(|op| op.key() == key) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How the planned message is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plan {
    /// The entries that arrived are all still there, unchanged and first: the message as it
    /// arrived followed by the entries from this index on.
    append_from: Option<usize>,
    /// Bytes the arrived attribute fields take.
    arrived_bytes: usize,
    /// The message has none of the ops' keys: it is followed by the precomputed tail.
    tail: bool,
}

impl Edit for Attributes<'_> {
    fn plan(&mut self, msg: Option<&[u8]>) -> Result<Option<usize>, Malformed> {
        let msg = msg.unwrap_or_default();
        let ops = self.ops;
        let Scratch { entries, plan, .. } = &mut *self.scratch;
        plan.tail = false;
        if let Some(absent) = self.absent_keys
            && (absent.search.none_in(msg) || keys_absent(msg, self.field, ops)?)
        {
            plan.tail = true;
            return Ok(absent.tail.map(|t| msg.len() + t.len()));
        }
        plan.arrived_bytes = collect(msg, self.field, entries)?;
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
                                Entry::New { op } => {
                                    (ops[op].value() == value, Entry::New { op: i })
                                }
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
            return Ok(None);
        }
        let originals = entries
            .iter()
            .take_while(|e| matches!(e, Entry::Orig { .. }))
            .count();
        let (base, from) = if originals == arrived {
            (msg.len(), originals)
        } else {
            (msg.len() - plan.arrived_bytes, 0)
        };
        plan.append_from = (originals == arrived).then_some(originals);
        let mut len = base;
        for e in &entries[from..] {
            len += len_field_size(self.field, kv_len(msg, ops, e)?);
        }
        Ok(Some(len))
    }

    fn write(&mut self, msg: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), Malformed> {
        let msg = msg.unwrap_or_default();
        let Scratch { entries, kv, plan } = &mut *self.scratch;
        if plan.tail {
            out.extend_from_slice(msg);
            let tail = self.absent_keys.and_then(|absent| absent.tail);
            out.extend_from_slice(tail.unwrap_or_default());
            return Ok(());
        }
        let from = match plan.append_from {
            Some(from) => {
                out.extend_from_slice(msg);
                from
            }
            None => {
                // The other fields as they were, the attribute entries after them (field
                // order does not change what a message decodes to; entry order is kept).
                let mut copied = 0;
                for field in fields(msg) {
                    let field = field?;
                    if field.number == self.field {
                        out.extend_from_slice(&msg[copied..field.tag_start]);
                        copied = field.end;
                    }
                }
                out.extend_from_slice(&msg[copied..]);
                0
            }
        };
        for e in &entries[from..] {
            write_entry(msg, self.field, self.ops, e, kv, out)?;
        }
        Ok(())
    }
}

/// The length of an entry's `KeyValue` as [`write_entry`] writes it.
fn kv_len(msg: &[u8], ops: &[Op], e: &Entry) -> Result<usize, Malformed> {
    Ok(match *e {
        Entry::Orig { kv, .. } => kv.1 - kv.0,
        Entry::Replaced { kv, op } => {
            let body = slice(msg, kv);
            let mut values = 0;
            for f in fields(body) {
                let f = f?;
                if f.number == 2 {
                    values += f.end - f.tag_start;
                }
            }
            body.len() - values + len_field_size(2, ops[op].value().len())
        }
        Entry::New { op } => {
            len_field_size(1, ops[op].key().len()) + len_field_size(2, ops[op].value().len())
        }
    })
}

fn write_entry(
    msg: &[u8],
    field: u32,
    ops: &[Op],
    e: &Entry,
    kv: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    match *e {
        Entry::Orig { kv: range, .. } => write_len_field(out, field, slice(msg, range)),
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
            write_len_field(out, field, kv);
        }
        Entry::New { op } => {
            kv.clear();
            write_len_field(kv, 1, ops[op].key());
            write_len_field(kv, 2, ops[op].value());
            write_len_field(out, field, kv);
        }
    }
    Ok(())
}
