//! Argument accessors. The compiler guarantees each argument's shape, so a mismatch is an
//! internal error, reported as an error value rather than a panic.

use regex_lite::Regex;

use super::StrFunc;
use crate::ottl::EvalError;
use crate::ottl::paths::CPath;
use crate::ottl::program::{Arg, Expr};

fn internal(i: usize) -> EvalError {
    EvalError(format!(
        "internal: argument {} has an unexpected shape",
        i + 1
    ))
}

pub fn expr(args: &[Arg], i: usize) -> Result<&Expr, EvalError> {
    match args.get(i) {
        Some(Arg::Expr(e)) => Ok(e),
        _ => Err(internal(i)),
    }
}

pub fn path(args: &[Arg], i: usize) -> Result<&CPath, EvalError> {
    match args.get(i) {
        Some(Arg::Path(p)) => Ok(p),
        _ => Err(internal(i)),
    }
}

pub fn regex(args: &[Arg], i: usize) -> Result<&Regex, EvalError> {
    match args.get(i) {
        Some(Arg::Regex(r)) => Ok(r),
        _ => Err(internal(i)),
    }
}

pub fn string(args: &[Arg], i: usize) -> Result<Option<&str>, EvalError> {
    match args.get(i) {
        Some(Arg::Str(s)) => Ok(Some(s)),
        Some(Arg::Absent) => Ok(None),
        _ => Err(internal(i)),
    }
}

pub fn int(args: &[Arg], i: usize) -> Result<i64, EvalError> {
    match args.get(i) {
        Some(Arg::Int(n)) => Ok(*n),
        _ => Err(internal(i)),
    }
}

pub fn strs(args: &[Arg], i: usize) -> Result<&[String], EvalError> {
    match args.get(i) {
        Some(Arg::Strs(s)) => Ok(s),
        _ => Err(internal(i)),
    }
}

pub fn func(args: &[Arg], i: usize) -> Result<Option<StrFunc>, EvalError> {
    match args.get(i) {
        Some(Arg::Func(f)) => Ok(Some(*f)),
        Some(Arg::Absent) => Ok(None),
        _ => Err(internal(i)),
    }
}

pub fn exprs(args: &[Arg], i: usize) -> Result<&[Expr], EvalError> {
    match args.get(i) {
        Some(Arg::Exprs(e)) => Ok(e),
        _ => Err(internal(i)),
    }
}
