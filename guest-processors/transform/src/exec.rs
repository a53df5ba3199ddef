//! Runs compiled groups over a batch: each run of consecutive statements that share a
//! context walks the batch once, executing its statements on every item in order.

use sluice_guest_sdk::otlp::logs::{ResourceLogs, ScopeLogs};
use sluice_guest_sdk::otlp::metrics::{ResourceMetrics, ScopeMetrics};
use sluice_guest_sdk::otlp::trace::{ResourceSpans, ScopeSpans};
use sluice_guest_sdk::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, KeyValue,
};

use crate::config::{ErrorMode, Group, Stmt};
use crate::ottl::EvalError;
use crate::ottl::context::Context;
use crate::ottl::eval::eval_cond;
use crate::ottl::funcs::editors;
use crate::ottl::target::{Item, Target};

/// Statement failures under `error_mode: ignore`, summarised once per batch.
#[derive(Debug, Default)]
pub struct Report {
    /// `(label, source, failures, first error)`
    pub failures: Vec<(String, String, usize, String)>,
}

impl Report {
    fn record(&mut self, label: &str, source: &str, e: EvalError) {
        match self.failures.iter_mut().find(|f| f.0 == label) {
            Some(f) => f.2 += 1,
            None => self
                .failures
                .push((label.to_owned(), source.to_owned(), 1, e.0)),
        }
    }

    /// One line per failing statement.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.failures.iter().map(|(label, source, n, first)| {
            format!("{label}: statement failed on {n} item(s) and was skipped (error_mode: ignore); first error: {first}; in: {source}")
        })
    }
}

/// Why a batch failed under `error_mode: propagate`.
pub type Failure = String;

type Visit<'f> = dyn FnMut(&mut Target) -> Result<bool, Failure> + 'f;

fn handle(
    mode: ErrorMode,
    label: &str,
    source: &str,
    e: EvalError,
    report: &mut Report,
) -> Result<(), Failure> {
    match mode {
        ErrorMode::Ignore => report.record(label, source, e),
        ErrorMode::Silent => {}
        ErrorMode::Propagate => return Err(format!("{label}: {e}; in: {source}")),
    }
    Ok(())
}

/// Runs one run of statements on one item.
fn item(
    group: &Group,
    stmts: &[Stmt],
    t: &mut Target,
    report: &mut Report,
) -> Result<bool, Failure> {
    t.cache.clear();
    if !group.conditions.is_empty() {
        let mut any = false;
        for (label, cond) in &group.conditions {
            match eval_cond(cond, t) {
                Ok(true) => {
                    any = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => handle(group.error_mode, label, "group condition", e, report)?,
            }
        }
        if !any {
            return Ok(false);
        }
    }
    let mut changed = false;
    for s in stmts {
        let result = match &s.statement.condition {
            Some(c) => eval_cond(c, t),
            None => Ok(true),
        };
        match result.and_then(|go| {
            if go {
                editors::run(&s.statement.editor, t)
            } else {
                Ok(false)
            }
        }) {
            Ok(c) => changed |= c,
            Err(e) => handle(group.error_mode, &s.label, &s.source, e, report)?,
        }
    }
    Ok(changed)
}

/// Splits each group into runs of one context and hands each run to `walk`.
fn run_groups(
    groups: &[Group],
    report: &mut Report,
    walk: &mut dyn FnMut(Context, &mut Visit<'_>) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    let mut changed = false;
    for group in groups {
        for run in group
            .statements
            .chunk_by(|a, b| a.statement.context == b.statement.context)
        {
            let Some(ctx) = run.first().map(|s| s.statement.context) else {
                continue;
            };
            changed |= walk(ctx, &mut |t| item(group, run, t, report))?;
        }
    }
    Ok(changed)
}

pub fn traces(
    groups: &[Group],
    req: &mut ExportTraceServiceRequest,
    report: &mut Report,
) -> Result<bool, Failure> {
    run_groups(groups, report, &mut |ctx, f| {
        let mut cache: Vec<KeyValue> = Vec::new();
        let mut changed = false;
        for ResourceSpans {
            resource,
            scope_spans,
            ..
        } in &mut req.resource_spans
        {
            if ctx == Context::Resource {
                changed |= f(&mut Target {
                    resource,
                    scope: None,
                    item: Item::None,
                    cache: &mut cache,
                })?;
                continue;
            }
            for ScopeSpans { scope, spans, .. } in scope_spans.iter_mut() {
                if ctx == Context::Scope {
                    changed |= f(&mut Target {
                        resource,
                        scope: Some(scope),
                        item: Item::None,
                        cache: &mut cache,
                    })?;
                    continue;
                }
                for span in spans.iter_mut() {
                    let events: Vec<Option<usize>> = if ctx == Context::SpanEvent {
                        (0..span.events.len()).map(Some).collect()
                    } else {
                        vec![None]
                    };
                    for event in events {
                        let item = Item::Span(&mut *span, event);
                        changed |= f(&mut Target {
                            resource,
                            scope: Some(&mut *scope),
                            item,
                            cache: &mut cache,
                        })?;
                    }
                }
            }
        }
        Ok(changed)
    })
}

pub fn metrics(
    groups: &[Group],
    req: &mut ExportMetricsServiceRequest,
    report: &mut Report,
) -> Result<bool, Failure> {
    run_groups(groups, report, &mut |ctx, f| {
        let mut cache: Vec<KeyValue> = Vec::new();
        let mut changed = false;
        for ResourceMetrics {
            resource,
            scope_metrics,
            ..
        } in &mut req.resource_metrics
        {
            if ctx == Context::Resource {
                changed |= f(&mut Target {
                    resource,
                    scope: None,
                    item: Item::None,
                    cache: &mut cache,
                })?;
                continue;
            }
            for ScopeMetrics { scope, metrics, .. } in scope_metrics.iter_mut() {
                if ctx == Context::Scope {
                    changed |= f(&mut Target {
                        resource,
                        scope: Some(scope),
                        item: Item::None,
                        cache: &mut cache,
                    })?;
                    continue;
                }
                for metric in metrics.iter_mut() {
                    let points: Vec<Option<usize>> = if ctx == Context::DataPoint {
                        (0..metric.data_point_count()).map(Some).collect()
                    } else {
                        vec![None]
                    };
                    for point in points {
                        let item = Item::Metric(&mut *metric, point);
                        changed |= f(&mut Target {
                            resource,
                            scope: Some(&mut *scope),
                            item,
                            cache: &mut cache,
                        })?;
                    }
                }
            }
        }
        Ok(changed)
    })
}

pub fn logs(
    groups: &[Group],
    req: &mut ExportLogsServiceRequest,
    report: &mut Report,
) -> Result<bool, Failure> {
    run_groups(groups, report, &mut |ctx, f| {
        let mut cache: Vec<KeyValue> = Vec::new();
        let mut changed = false;
        for ResourceLogs {
            resource,
            scope_logs,
            ..
        } in &mut req.resource_logs
        {
            if ctx == Context::Resource {
                changed |= f(&mut Target {
                    resource,
                    scope: None,
                    item: Item::None,
                    cache: &mut cache,
                })?;
                continue;
            }
            for ScopeLogs {
                scope, log_records, ..
            } in scope_logs.iter_mut()
            {
                if ctx == Context::Scope {
                    changed |= f(&mut Target {
                        resource,
                        scope: Some(scope),
                        item: Item::None,
                        cache: &mut cache,
                    })?;
                    continue;
                }
                for record in log_records.iter_mut() {
                    let item = Item::Log(record);
                    changed |= f(&mut Target {
                        resource,
                        scope: Some(&mut *scope),
                        item,
                        cache: &mut cache,
                    })?;
                }
            }
        }
        Ok(changed)
    })
}
