//! Resolves a parsed statement against a signal and context: paths become fields,
//! function names implementations, literals regexes. Every error carries a column.

use regex_lite::Regex;
use sluice_guest_sdk::Signal;

use super::ParseError;
use super::ast::{self, ExprKind};
use super::context::{Context, enum_value};
use super::funcs::{self, Kind, Param, StrFunc, glob_to_regex, validate};
use super::paths::{self, CPath, Field, PointField};
use super::program::{Arg, Call, Cond, Expr, Key};
use super::value::Value;

/// Compiles statements and conditions of one group.
pub struct Compiler {
    pub signal: Signal,
    /// The group's `context:`, if it has one.
    pub declared: Option<Context>,
}

/// A compiled piece and what it touches.
#[derive(Debug)]
pub struct Unit<T> {
    pub item: T,
    /// The deepest context any of its paths needs.
    pub deepest: Option<Context>,
    /// It used `attributes` on a metric (Sluice reads that as the data points').
    pub metric_attributes: bool,
}

struct Pass<'c> {
    c: &'c Compiler,
    deepest: Option<Context>,
    metric_attributes: bool,
}

fn err<T>(col: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError::new(col, message))
}

impl Compiler {
    pub fn statement(&self, s: &ast::Statement) -> Result<Unit<(Call, Option<Cond>)>, ParseError> {
        let mut pass = Pass {
            c: self,
            deepest: self.declared,
            metric_attributes: false,
        };
        let editor = pass.call(&s.editor, true)?;
        let condition = s.condition.as_ref().map(|c| pass.cond(c)).transpose()?;
        Ok(Unit {
            item: (editor, condition),
            deepest: pass.deepest,
            metric_attributes: pass.metric_attributes,
        })
    }

    pub fn condition(&self, c: &ast::BoolExpr) -> Result<Unit<Cond>, ParseError> {
        let mut pass = Pass {
            c: self,
            deepest: self.declared,
            metric_attributes: false,
        };
        let item = pass.cond(c)?;
        Ok(Unit {
            item,
            deepest: pass.deepest,
            metric_attributes: pass.metric_attributes,
        })
    }
}

fn statements_key(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "trace_statements",
        Signal::Metrics => "metric_statements",
        Signal::Logs => "log_statements",
    }
}

impl Pass<'_> {
    fn cond(&mut self, c: &ast::BoolExpr) -> Result<Cond, ParseError> {
        Ok(match c {
            ast::BoolExpr::Or(t) => {
                Cond::Or(t.iter().map(|c| self.cond(c)).collect::<Result<_, _>>()?)
            }
            ast::BoolExpr::And(t) => {
                Cond::And(t.iter().map(|c| self.cond(c)).collect::<Result<_, _>>()?)
            }
            ast::BoolExpr::Not(inner) => Cond::Not(Box::new(self.cond(inner)?)),
            ast::BoolExpr::Cmp(l, op, r) => Cond::Cmp(self.expr(l)?, *op, self.expr(r)?),
            ast::BoolExpr::Term(e) => Cond::Term(self.expr(e)?),
        })
    }

    fn expr(&mut self, e: &ast::Expr) -> Result<Expr, ParseError> {
        Ok(match &e.kind {
            ExprKind::Str(s) => Expr::Lit(Value::Str(s.clone())),
            ExprKind::Int(i) => Expr::Lit(Value::Int(*i)),
            ExprKind::Float(f) => Expr::Lit(Value::Double(*f)),
            ExprKind::Bool(b) => Expr::Lit(Value::Bool(*b)),
            ExprKind::Nil => Expr::Lit(Value::Nil),
            ExprKind::Bytes(b) => Expr::Lit(Value::Bytes(b.clone())),
            ExprKind::List(items) => Expr::List(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            ExprKind::Map(entries) => Expr::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.expr(v)?)))
                    .collect::<Result<_, ParseError>>()?,
            ),
            ExprKind::Path(p) => Expr::Path(self.path(p)?),
            ExprKind::Enum(name) => match enum_value(name) {
                Some(v) => Expr::Lit(Value::Int(v)),
                None => return err(e.col, format!("unknown enum {name}")),
            },
            ExprKind::Call(call) => {
                let keys = self.keys(&call.keys)?;
                Expr::Call(Box::new(self.call(call, false)?), keys)
            }
            ExprKind::Math(l, op, r) => {
                Expr::Math(Box::new(self.expr(l)?), *op, Box::new(self.expr(r)?))
            }
        })
    }

    fn keys(&mut self, keys: &[ast::Key]) -> Result<Vec<Key>, ParseError> {
        keys.iter()
            .map(|k| {
                Ok(match k {
                    ast::Key::Str(s) => Key::Str(s.clone()),
                    ast::Key::Int(i) => Key::Int(*i),
                    ast::Key::Expr(e) => Key::Expr(Box::new(self.expr(e)?)),
                })
            })
            .collect()
    }

    fn path(&mut self, p: &ast::Path) -> Result<CPath, ParseError> {
        let text = p.dotted();
        let Some((first, col)) = p.segments.first().map(|(s, c)| (s, *c)) else {
            return err(1, "empty path");
        };
        let prefixed = Context::parse(first).filter(|_| first != "cache");
        let (ctx, rest) = match prefixed {
            Some(_) if p.segments.len() == 1 => {
                return err(
                    col,
                    format!("{first:?} needs a field, like {first}.attributes"),
                );
            }
            Some(ctx) => (ctx, &p.segments[1..]),
            None if first == "cache" => (
                self.c.declared.unwrap_or(Context::Resource),
                &p.segments[..],
            ),
            None => match self.c.declared {
                Some(ctx) => (ctx, &p.segments[..]),
                None => {
                    let allowed: Vec<&str> = Context::for_signal(self.c.signal)
                        .iter()
                        .map(|c| c.name())
                        .collect();
                    return err(
                        col,
                        format!(
                            "path {text:?} has no context prefix: write it as <context>.{text} with <context> one of {} (or give the group a `context:`)",
                            allowed.join(", ")
                        ),
                    );
                }
            },
        };
        if !Context::for_signal(self.c.signal).contains(&ctx) {
            return err(
                col,
                format!(
                    "{} paths cannot be used in {}",
                    ctx.name(),
                    statements_key(self.c.signal)
                ),
            );
        }
        let name = rest
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let field = if ctx == Context::Metric && name == "attributes" {
            // Seed 000's `set(attributes["env"], "dev")` under `context: metric`.
            self.metric_attributes = true;
            Field::DataPoint(PointField::Attributes)
        } else {
            match paths::resolve(ctx, &name) {
                Some(f) => f,
                None => {
                    let at = rest.first().map_or(col, |(_, c)| *c);
                    return err(
                        at,
                        format!(
                            "unknown path {text:?}: {} fields are {}",
                            ctx.name(),
                            paths::names(ctx)
                        ),
                    );
                }
            }
        };
        if !p.keys.is_empty() && !field.indexable() {
            return err(col, format!("{text} cannot be indexed with [...]"));
        }
        // `span.cache` belongs to the span context; a bare `cache` to the group's.
        let needed = match field {
            Field::Cache if prefixed.is_some() => Some(ctx),
            Field::Cache => self.c.declared,
            f => f.context(),
        };
        if let Some(needed) = needed {
            self.deepest = Some(match self.deepest {
                Some(d) if d.depth() >= needed.depth() => d,
                _ => needed,
            });
        }
        Ok(CPath {
            field,
            keys: self.keys(&p.keys)?,
            text,
        })
    }

    fn call(&mut self, call: &ast::Call, editor: bool) -> Result<Call, ParseError> {
        let kind = if editor { "editor" } else { "converter" };
        let Some((func, params)) = funcs::lookup(&call.name)
            .filter(|(_, _)| call.name.starts_with(|c: char| c.is_ascii_lowercase()) == editor)
        else {
            return err(
                call.col,
                format!(
                    "unknown {kind} {:?}; supported: {}",
                    call.name,
                    funcs::names(editor)
                ),
            );
        };
        if editor && !call.keys.is_empty() {
            return err(
                call.col,
                format!("the result of editor {} cannot be indexed", call.name),
            );
        }
        let signature = || {
            let names: Vec<String> = params
                .iter()
                .map(|p| {
                    if p.optional {
                        format!("[{}]", p.name)
                    } else {
                        p.name.to_owned()
                    }
                })
                .collect();
            format!("{}({})", call.name, names.join(", "))
        };
        let mut slots: Vec<Option<&ast::Expr>> = vec![None; params.len()];
        let mut seen_named = false;
        for (i, a) in call.args.iter().enumerate() {
            let index = match &a.name {
                None if seen_named => {
                    return err(
                        a.value.col,
                        "positional arguments must come before named ones",
                    );
                }
                None if i >= params.len() => {
                    return err(a.value.col, format!("too many arguments: {}", signature()));
                }
                None => i,
                Some(name) => {
                    seen_named = true;
                    match params.iter().position(|p| p.name == name) {
                        Some(j) if slots[j].is_some() => {
                            return err(a.value.col, format!("{name} is given twice"));
                        }
                        Some(j) => j,
                        None => {
                            return err(
                                a.value.col,
                                format!("{} has no argument {name:?}: {}", call.name, signature()),
                            );
                        }
                    }
                }
            };
            slots[index] = Some(&a.value);
        }
        let mut args = Vec::with_capacity(params.len());
        for (param, slot) in params.iter().zip(slots) {
            args.push(match slot {
                Some(e) => self.arg(param, e)?,
                None if param.optional => Arg::Absent,
                None => {
                    return err(
                        call.col,
                        format!(
                            "{} is missing argument {:?}: {}",
                            call.name,
                            param.name,
                            signature()
                        ),
                    );
                }
            });
        }
        validate(func, &args)
            .map_err(|m| ParseError::new(call.col, format!("{}: {m}", call.name)))?;
        Ok(Call { func, args })
    }

    fn arg(&mut self, param: &Param, e: &ast::Expr) -> Result<Arg, ParseError> {
        let expected = |what: &str| err(e.col, format!("{} must be {what}", param.name));
        Ok(match (param.kind, &e.kind) {
            (Kind::Path | Kind::MapPath, ExprKind::Path(p)) => {
                let path = self.path(p)?;
                if param.kind == Kind::MapPath && !path.field.indexable() {
                    return err(
                        e.col,
                        format!(
                            "{} must be a map (attributes, cache, body), not {}",
                            param.name, path.text
                        ),
                    );
                }
                Arg::Path(path)
            }
            (Kind::Path | Kind::MapPath, _) => return expected("a path to a telemetry field"),
            (Kind::Any, _) => Arg::Expr(self.expr(e)?),
            (Kind::Regex | Kind::Glob, ExprKind::Str(s)) => {
                let pattern = if param.kind == Kind::Glob {
                    glob_to_regex(s)
                } else {
                    s.clone()
                };
                match Regex::new(&pattern) {
                    Ok(re) => Arg::Regex(re),
                    Err(x) => return err(e.col, format!("invalid pattern {s:?}: {x}")),
                }
            }
            (Kind::Regex | Kind::Glob, _) => return expected("a string literal"),
            (Kind::Str, ExprKind::Str(s)) => Arg::Str(s.clone()),
            (Kind::Str, _) => return expected("a string literal"),
            (Kind::Int, ExprKind::Int(i)) => Arg::Int(*i),
            (Kind::Int, _) => return expected("an integer literal"),
            (Kind::Bool, ExprKind::Bool(b)) => Arg::Bool(*b),
            (Kind::Bool, _) => return expected("true or false"),
            (Kind::Strs, ExprKind::List(items)) => Arg::Strs(
                items
                    .iter()
                    .map(|i| match &i.kind {
                        ExprKind::Str(s) => Ok(s.clone()),
                        _ => err(i.col, format!("{} must list string literals", param.name)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (Kind::Strs, _) => return expected("a list of strings, like [\"a\", \"b\"]"),
            (Kind::Func, ExprKind::Enum(name)) => match StrFunc::parse(name) {
                Some(f) => Arg::Func(f),
                None => {
                    return err(
                        e.col,
                        format!(
                            "{name} cannot be used here; use SHA256, ToLowerCase or ToUpperCase"
                        ),
                    );
                }
            },
            (Kind::Func, _) => return expected("a converter name such as SHA256"),
            (Kind::Exprs, ExprKind::List(items)) => Arg::Exprs(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            (Kind::Exprs, _) => return expected("a list, like [a, b]"),
        })
    }
}
