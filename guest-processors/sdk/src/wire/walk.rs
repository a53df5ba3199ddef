//! Rewrites the messages at the end of a field path (request → resource → scope → item)
//! while copying everything else verbatim: only the messages on the way to an edited item
//! are rebuilt, with their lengths recomputed.

use super::proto::{LEN, Malformed, fields, len_field_size, write_len_field, write_varint};

/// How the last field of a path occurs in its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Last {
    /// Every occurrence is an item (spans, log records).
    Repeated,
    /// A singular message field (a resource): the edit is also planned, with `None`, when
    /// the field is absent, so that it can be created.
    Singular,
}

/// The edit of the messages at the end of a path, in two steps so that an edited message is
/// written once, straight into its parent: [`plan`](Edit::plan) decides and returns the new
/// length, [`write`](Edit::write) then appends exactly that many bytes.
pub trait Edit {
    /// Decides the edit of one message (`None`: an absent singular message); returns the
    /// length of its new content, or `None` when it stays as it is.
    fn plan(&mut self, msg: Option<&[u8]>) -> Result<Option<usize>, Malformed>;

    /// Appends the new content of the message the last `plan` call returned a length for.
    fn write(&mut self, msg: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), Malformed>;
}

/// Leaves out the fields `keep` refuses (by field number), as an [`Edit`].
pub struct RetainFields<F: Fn(u32) -> bool>(pub F);

impl<F: Fn(u32) -> bool> Edit for RetainFields<F> {
    fn plan(&mut self, msg: Option<&[u8]>) -> Result<Option<usize>, Malformed> {
        let msg = msg.unwrap_or_default();
        let mut removed = 0;
        for field in fields(msg) {
            let field = field?;
            if !(self.0)(field.number) {
                removed += field.end - field.tag_start;
            }
        }
        Ok((removed > 0).then(|| msg.len() - removed))
    }

    fn write(&mut self, msg: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), Malformed> {
        let msg = msg.unwrap_or_default();
        let mut copied = 0;
        for field in fields(msg) {
            let field = field?;
            if !(self.0)(field.number) {
                out.extend_from_slice(&msg[copied..field.tag_start]);
                copied = field.end;
            }
        }
        out.extend_from_slice(&msg[copied..]);
        Ok(())
    }
}

/// Writes an edited message as field `number` of its parent; an `Edit` that writes another
/// length than it planned is a bug, reported as `Malformed` so that the decoded path runs.
fn write_edited(
    out: &mut Vec<u8>,
    number: u32,
    len: usize,
    msg: Option<&[u8]>,
    edit: &mut dyn Edit,
) -> Result<(), Malformed> {
    write_varint(out, u64::from(number) << 3 | u64::from(LEN));
    write_varint(out, len as u64);
    let start = out.len();
    edit.write(msg, out)?;
    if out.len() - start != len {
        return Err(Malformed);
    }
    Ok(())
}

/// Rewrites `msg` along `path` into `bufs[0]`, using `bufs[1..]` for the levels between;
/// `bufs` needs one buffer per field of `path`. The messages at the end of the path are
/// edited by `edit`. Returns whether anything changed; `bufs[0]` holds the new message only
/// then.
pub fn rewrite(
    msg: &[u8],
    path: &[u32],
    last: Last,
    bufs: &mut [Vec<u8>],
    edit: &mut dyn Edit,
) -> Result<bool, Malformed> {
    let (&number, rest) = path.split_first().ok_or(Malformed)?;
    let (out, deeper) = bufs.split_first_mut().ok_or(Malformed)?;
    let singular = rest.is_empty() && last == Last::Singular;
    out.clear();
    let mut copied = 0;
    let mut changed = false;
    let mut seen = 0;
    for field in fields(msg) {
        let field = field?;
        if field.number != number {
            continue;
        }
        if field.wire_type != LEN {
            return Err(Malformed);
        }
        seen += 1;
        if singular && seen > 1 {
            // Repeated occurrences of a singular message merge when decoded: leave that
            // rare shape to the decoded path.
            return Err(Malformed);
        }
        let child = &msg[field.value.0..field.value.1];
        if rest.is_empty() {
            let Some(len) = edit.plan(Some(child))? else {
                continue;
            };
            if !changed {
                out.reserve(msg.len() + msg.len() / 8);
            }
            out.extend_from_slice(&msg[copied..field.tag_start]);
            write_edited(out, number, len, Some(child), edit)?;
        } else {
            if !rewrite(child, rest, last, deeper, edit)? {
                continue;
            }
            if !changed {
                out.reserve(msg.len() + msg.len() / 8);
            }
            out.extend_from_slice(&msg[copied..field.tag_start]);
            write_len_field(out, number, &deeper[0]);
        }
        copied = field.end;
        changed = true;
    }
    if singular
        && seen == 0
        && let Some(len) = edit.plan(None)?
    {
        out.extend_from_slice(&msg[copied..]);
        copied = msg.len();
        write_edited(out, number, len, None, edit)?;
        changed = true;
    }
    if changed {
        out.extend_from_slice(&msg[copied..]);
    }
    Ok(changed)
}

/// Keeps the items (`request.1 → .2 → .2`: spans, log records or metrics) for which `keep`
/// says so, and drops the scopes and resources left without items, as a decoded
/// `retain` would. Everything kept is copied as it arrived, once: a first walk asks `keep`
/// about every item (once each, in order) and sizes what is kept, a second writes it straight
/// into `out`. `out` is cleared first.
pub fn filter_items(
    request: &[u8],
    keep: &mut dyn FnMut(&[u8]) -> Result<bool, Malformed>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    out.clear();
    // Per item whether it is kept; per scope and per resource the new length when something
    // in it is kept, and how many scopes or items it holds.
    let mut kept = Vec::new();
    let mut scopes: Vec<(Option<usize>, usize)> = Vec::new();
    let mut resources: Vec<(Option<usize>, usize)> = Vec::new();
    let mut total = 0;
    for resource in fields(request) {
        let resource = resource?;
        if resource.number != 1 {
            total += resource.end - resource.tag_start;
            continue;
        }
        let rs = len_value(request, &resource)?;
        let (mut rs_len, mut rs_kept, mut rs_scopes) = (0, false, 0);
        for scope in fields(rs) {
            let scope = scope?;
            if scope.number != 2 {
                rs_len += scope.end - scope.tag_start;
                continue;
            }
            let ss = len_value(rs, &scope)?;
            let (mut ss_len, mut ss_kept, mut ss_items) = (0, false, 0);
            for item in fields(ss) {
                let item = item?;
                if item.number == 2 {
                    let keeps = keep(len_value(ss, &item)?)?;
                    kept.push(keeps);
                    ss_items += 1;
                    if !keeps {
                        continue;
                    }
                    ss_kept = true;
                }
                ss_len += item.end - item.tag_start;
            }
            scopes.push((ss_kept.then_some(ss_len), ss_items));
            rs_scopes += 1;
            if ss_kept {
                rs_len += len_field_size(2, ss_len);
                rs_kept = true;
            }
        }
        resources.push((rs_kept.then_some(rs_len), rs_scopes));
        if rs_kept {
            total += len_field_size(1, rs_len);
        }
    }
    out.reserve(total);
    let (mut item_at, mut scope_at, mut resource_at) = (0, 0, 0);
    for resource in fields(request) {
        let resource = resource?;
        if resource.number != 1 {
            out.extend_from_slice(&request[resource.tag_start..resource.end]);
            continue;
        }
        let &(rs_len, rs_scopes) = resources.get(resource_at).ok_or(Malformed)?;
        resource_at += 1;
        let Some(rs_len) = rs_len else {
            for _ in 0..rs_scopes {
                item_at += scopes.get(scope_at).ok_or(Malformed)?.1;
                scope_at += 1;
            }
            continue;
        };
        write_key(out, 1, rs_len);
        let rs = len_value(request, &resource)?;
        for scope in fields(rs) {
            let scope = scope?;
            if scope.number != 2 {
                out.extend_from_slice(&rs[scope.tag_start..scope.end]);
                continue;
            }
            let &(ss_len, ss_items) = scopes.get(scope_at).ok_or(Malformed)?;
            scope_at += 1;
            let Some(ss_len) = ss_len else {
                item_at += ss_items;
                continue;
            };
            write_key(out, 2, ss_len);
            let ss = len_value(rs, &scope)?;
            for item in fields(ss) {
                let item = item?;
                if item.number == 2 {
                    let keeps = *kept.get(item_at).ok_or(Malformed)?;
                    item_at += 1;
                    if !keeps {
                        continue;
                    }
                }
                out.extend_from_slice(&ss[item.tag_start..item.end]);
            }
        }
    }
    if out.len() != total {
        return Err(Malformed);
    }
    Ok(())
}

/// The key and length of a length-delimited field `number` of `len` bytes.
fn write_key(out: &mut Vec<u8>, number: u32, len: usize) {
    write_varint(out, u64::from(number) << 3 | u64::from(LEN));
    write_varint(out, len as u64);
}

fn len_value<'a>(msg: &'a [u8], field: &super::proto::Field) -> Result<&'a [u8], Malformed> {
    if field.wire_type != LEN {
        return Err(Malformed);
    }
    Ok(&msg[field.value.0..field.value.1])
}
