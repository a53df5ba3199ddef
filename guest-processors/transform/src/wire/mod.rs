//! The fast path: statements simple enough to run on the batch's protobuf bytes, without
//! decoding it. A signal's statements qualify when every one of them is
//! `set(attributes["k"], <literal>)` or `delete_key(attributes, "k")` on the attributes of
//! its own context (resource, span or log), with no `where` condition and no group
//! `conditions`. Such an edit touches only the messages on the way to the edited
//! attributes; everything else is copied as it arrived. Anything else (and any batch whose
//! framing the walk cannot follow) takes the decoded path, so results never differ: the
//! tests run both paths on the same batches and compare.

mod edit;

use sluice_guest_sdk::Signal;
use sluice_guest_sdk::otlp::AnyValue;
use sluice_guest_sdk::prost::Message;

use crate::config::{Group, Program};
use crate::ottl::context::Context;
use crate::ottl::funcs::Func;
use crate::ottl::paths::{CPath, Common, Field, LogField, SpanField};
use crate::ottl::program::{Arg, Expr, Key};
use crate::ottl::value::Value;

pub use edit::Op;
pub use sluice_guest_sdk::wire::Malformed;

use sluice_guest_sdk::wire::{Last, rewrite};

/// One walk over the batch, applying a run of edits to every item of one context.
#[derive(Debug)]
struct Pass {
    /// Field numbers from the request down to the edited message.
    path: &'static [u32],
    last: Last,
    /// The repeated `KeyValue` field of the edited message.
    attributes: u32,
    ops: Vec<Op>,
    /// What `ops` append to a message without any of their keys (see [`edit::tail`]).
    tail: Option<Vec<u8>>,
    search: edit::KeySearch,
}

/// The passes of one signal's statements.
#[derive(Debug)]
pub struct Plan {
    passes: Vec<Pass>,
}

/// The plans of a program, where its statements qualify.
#[derive(Debug, Default)]
pub struct Plans {
    traces: Option<Plan>,
    metrics: Option<Plan>,
    logs: Option<Plan>,
}

impl Plans {
    pub fn new(program: &Program) -> Plans {
        Plans {
            traces: plan(&program.traces, Signal::Traces),
            metrics: plan(&program.metrics, Signal::Metrics),
            logs: plan(&program.logs, Signal::Logs),
        }
    }

    pub fn get(&self, signal: Signal) -> Option<&Plan> {
        match signal {
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
            Signal::Logs => self.logs.as_ref(),
        }
    }
}

/// Where a context's items are, from the request of `signal`, and their attributes field.
fn location(signal: Signal, ctx: Context) -> Option<(&'static [u32], Last, u32)> {
    match (signal, ctx) {
        // ResourceSpans/ResourceMetrics/ResourceLogs.resource = 1; Resource.attributes = 1.
        (_, Context::Resource) => Some((&[1, 1], Last::Singular, 1)),
        // ResourceSpans.scope_spans = 2, ScopeSpans.spans = 2; Span.attributes = 9.
        (Signal::Traces, Context::Span) => Some((&[1, 2, 2], Last::Repeated, 9)),
        // ResourceLogs.scope_logs = 2, ScopeLogs.log_records = 2; LogRecord.attributes = 6.
        (Signal::Logs, Context::Log) => Some((&[1, 2, 2], Last::Repeated, 6)),
        _ => None,
    }
}

/// Whether `path` is exactly the attributes of `ctx`'s own items.
fn own_attributes(ctx: Context, path: &CPath) -> bool {
    matches!(
        (ctx, path.field),
        (Context::Resource, Field::Resource(Common::Attributes))
            | (
                Context::Span,
                Field::Span(SpanField::Common(Common::Attributes))
            )
            | (
                Context::Log,
                Field::Log(LogField::Common(Common::Attributes))
            )
    )
}

/// `None` when a statement does not qualify.
fn plan(groups: &[Group], signal: Signal) -> Option<Plan> {
    if groups.is_empty() {
        return None;
    }
    let mut passes: Vec<Pass> = Vec::new();
    for group in groups {
        if !group.conditions.is_empty() {
            return None;
        }
        for stmt in &group.statements {
            let s = &stmt.statement;
            if s.condition.is_some() {
                return None;
            }
            let (path, last, attributes) = location(signal, s.context)?;
            let Some(op) = op(s.context, &s.editor.func, &s.editor.args)? else {
                continue;
            };
            match passes.last_mut() {
                Some(pass) if pass.path == path && pass.last == last => pass.ops.push(op),
                _ => passes.push(Pass {
                    path,
                    last,
                    attributes,
                    ops: vec![op],
                    tail: None,
                    search: edit::KeySearch::new(&[]),
                }),
            }
        }
    }
    for pass in &mut passes {
        pass.tail = edit::tail(pass.attributes, &pass.ops).ok()?;
        pass.search = edit::KeySearch::new(&pass.ops);
    }
    Some(Plan { passes })
}

/// The edit of one statement: `None` when it does not qualify, `Some(None)` when it can
/// never change anything (`set` to nil).
fn op(ctx: Context, func: &Func, args: &[Arg]) -> Option<Option<Op>> {
    match (func, args) {
        (Func::Set, [Arg::Path(path), Arg::Expr(Expr::Lit(value))]) => {
            let [Key::Str(key)] = path.keys.as_slice() else {
                return None;
            };
            if !own_attributes(ctx, path) {
                return None;
            }
            let value = match value {
                Value::Nil => return Some(None),
                Value::Str(_) | Value::Int(_) | Value::Double(_) | Value::Bool(_) => {
                    AnyValue::from(value.clone()).encode_to_vec()
                }
                _ => return None,
            };
            Some(Some(Op::Set {
                key: key.clone(),
                value,
            }))
        }
        (Func::DeleteKey, [Arg::Path(path), key]) => {
            if !path.keys.is_empty() || !own_attributes(ctx, path) {
                return None;
            }
            let key = match key {
                Arg::Str(k) => k.clone(),
                Arg::Absent => String::new(),
                _ => return None,
            };
            Some(Some(Op::Delete { key }))
        }
        _ => None,
    }
}

/// Buffers reused from batch to batch.
#[derive(Debug, Default)]
pub struct Buffers {
    levels: Vec<Vec<u8>>,
    scratch: edit::Scratch,
}

/// Runs `plan` on a request: `Ok(None)` when nothing changed.
pub fn run(
    plan: &Plan,
    request: &[u8],
    buffers: &mut Buffers,
) -> Result<Option<Vec<u8>>, Malformed> {
    let mut current: Option<Vec<u8>> = None;
    for pass in &plan.passes {
        let Buffers { levels, scratch } = &mut *buffers;
        levels.resize_with(pass.path.len(), Vec::new);
        let input = current.as_deref().unwrap_or(request);
        let mut edit = edit::Attributes {
            field: pass.attributes,
            ops: &pass.ops,
            scratch,
            absent_keys: Some(edit::AbsentKeys {
                search: &pass.search,
                tail: pass.tail.as_deref(),
            }),
        };
        if rewrite(input, pass.path, pass.last, levels, &mut edit)? {
            current = Some(std::mem::take(&mut levels[0]));
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests;
