//! A subset of the OpenTelemetry Transformation Language (OTTL), as the Collector's transform
//! processor uses it: parsed and compiled once at `init`, evaluated per item.

pub mod ast;
pub mod compile;
pub mod context;
pub mod eval;
pub mod funcs;
pub mod lexer;
pub mod parser;
pub mod paths;
pub mod program;
pub mod target;
pub mod value;

use std::fmt;

/// A syntax or compile error at a column of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(col: usize, message: impl Into<String>) -> Self {
        Self {
            col,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.col, self.message)
    }
}

/// A statement failed on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
