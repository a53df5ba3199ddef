//! What the parser produces: OTTL as written, before paths and functions are resolved.

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub editor: Call,
    pub condition: Option<BoolExpr>,
}

/// `Name(args)[keys]`: an editor (lower-case name) or a converter (upper-case name).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub col: usize,
    pub args: Vec<Arg>,
    /// Indexes applied to a converter's result: `Split(x, ",")[0]`.
    pub keys: Vec<Key>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// `name = value` arguments.
    pub name: Option<String>,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Bytes(Vec<u8>),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    Path(Path),
    /// An upper-case identifier: an enum (`SPAN_KIND_SERVER`) or a function name argument.
    Enum(String),
    Call(Call),
    Math(Box<Expr>, MathOp, Box<Expr>),
}

/// `span.attributes["k"][0]`: dotted segments, then indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub segments: Vec<(String, usize)>,
    pub keys: Vec<Key>,
}

impl Path {
    /// The path as written, without its keys.
    pub fn dotted(&self) -> String {
        self.segments
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Str(String),
    Int(i64),
    /// A path or converter whose value is the key.
    Expr(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BoolExpr {
    Or(Vec<BoolExpr>),
    And(Vec<BoolExpr>),
    Not(Box<BoolExpr>),
    Cmp(Expr, CmpOp, Expr),
    /// A value that must evaluate to a bool: `true`, `IsMatch(...)`.
    Term(Expr),
}
