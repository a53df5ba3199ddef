//! Compiled statements: paths resolved to fields, functions to implementations, regexes
//! built. Nothing here is looked up by name while processing.

use regex_lite::Regex;

use super::ast::{CmpOp, MathOp};
use super::context::Context;
use super::funcs::{Func, StrFunc};
use super::paths::CPath;
use super::value::Value;

#[derive(Debug)]
pub struct Statement {
    pub editor: Call,
    pub condition: Option<Cond>,
    /// Where the statement runs (the deepest context it touches).
    pub context: Context,
}

#[derive(Debug)]
pub enum Expr {
    Lit(Value),
    Path(CPath),
    /// A converter call and indexes applied to its result.
    Call(Box<Call>, Vec<Key>),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    Math(Box<Expr>, MathOp, Box<Expr>),
}

#[derive(Debug)]
pub enum Key {
    Str(String),
    Int(i64),
    Expr(Box<Expr>),
}

#[derive(Debug)]
pub enum Cond {
    Or(Vec<Cond>),
    And(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Expr, CmpOp, Expr),
    Term(Expr),
}

#[derive(Debug)]
pub struct Call {
    pub func: Func,
    /// One entry per parameter of `func`, in declaration order.
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub enum Arg {
    /// An optional parameter that was not passed.
    Absent,
    Expr(Expr),
    Path(CPath),
    Regex(Regex),
    Str(String),
    Int(i64),
    Bool(bool),
    Strs(Vec<String>),
    Func(StrFunc),
    Exprs(Vec<Expr>),
}
