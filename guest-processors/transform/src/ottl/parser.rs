//! Recursive-descent parser for OTTL statements and conditions.

use super::ParseError;
use super::ast::*;
use super::lexer::{Tok, Token, tokenize};

/// Parses `editor(args) [where condition]`.
pub fn parse_statement(src: &str) -> Result<Statement, ParseError> {
    let mut p = Parser {
        toks: tokenize(src)?,
        pos: 0,
        depth: 0,
    };
    let editor = p.editor()?;
    let condition = if p.eat_keyword("where") {
        Some(p.or()?)
    } else {
        None
    };
    p.expect_eof()?;
    Ok(Statement { editor, condition })
}

/// Parses a bare boolean expression (a group's `conditions` entry).
pub fn parse_condition(src: &str) -> Result<BoolExpr, ParseError> {
    let mut p = Parser {
        toks: tokenize(src)?,
        pos: 0,
        depth: 0,
    };
    let cond = p.or()?;
    p.expect_eof()?;
    Ok(cond)
}

const KEYWORDS: [&str; 4] = ["where", "and", "or", "not"];

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Nesting of values and conditions, bounded so a statement cannot exhaust the stack.
    depth: usize,
}

/// How deeply values and conditions may nest.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> &Token {
        // tokenize always ends with Eof, and `pos` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn unexpected<T>(&self, expected: &str) -> Result<T, ParseError> {
        let t = self.peek();
        Err(ParseError::new(
            t.col,
            format!("expected {expected}, found {}", t.tok.describe()),
        ))
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<Token, ParseError> {
        if self.peek().tok == tok {
            Ok(self.bump())
        } else {
            self.unexpected(expected)
        }
    }

    fn expect_eof(&self) -> Result<(), ParseError> {
        if self.peek().tok == Tok::Eof {
            Ok(())
        } else {
            self.unexpected("\"where\", \"and\", \"or\" or the end of the statement")
        }
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if matches!(&self.peek().tok, Tok::Ident(s) if s == kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn editor(&mut self) -> Result<Call, ParseError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Ident(name) if name.starts_with(|c: char| c.is_ascii_lowercase()) => {
                self.bump();
                if self.peek().tok != Tok::LParen {
                    return self.unexpected(&format!("\"(\" after editor name {name:?}"));
                }
                self.call(name.clone(), t.col)
            }
            Tok::Ident(name) => Err(ParseError::new(
                t.col,
                format!(
                    "a statement must start with an editor (lower-case, like set), not {name:?}"
                ),
            )),
            _ => self.unexpected("an editor such as set(...)"),
        }
    }

    /// After the name: `( args ) [keys]`.
    fn call(&mut self, name: String, col: usize) -> Result<Call, ParseError> {
        self.expect(Tok::LParen, "\"(\"")?;
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                let named = match (&self.peek().tok, self.peek_at(1)) {
                    (Tok::Ident(n), Tok::Assign) => Some(n.clone()),
                    _ => None,
                };
                if named.is_some() {
                    self.bump();
                    self.bump();
                }
                let value = self.value()?;
                args.push(Arg { name: named, value });
                if self.peek().tok == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, "\",\" or \")\" in the argument list")?;
        let keys = self.keys()?;
        Ok(Call {
            name,
            col,
            args,
            keys,
        })
    }

    fn keys(&mut self) -> Result<Vec<Key>, ParseError> {
        let mut keys = Vec::new();
        while self.peek().tok == Tok::LBracket {
            self.bump();
            let key = match self.peek().tok.clone() {
                Tok::Str(s) if *self.peek_at(1) == Tok::RBracket => {
                    self.bump();
                    Key::Str(s)
                }
                Tok::Int(i) if *self.peek_at(1) == Tok::RBracket => {
                    self.bump();
                    Key::Int(i)
                }
                _ => Key::Expr(Box::new(self.value()?)),
            };
            self.expect(Tok::RBracket, "\"]\"")?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// A value, including math: `a + b * c`.
    fn value(&mut self) -> Result<Expr, ParseError> {
        self.nested(Self::math)
    }

    /// Runs `f` one level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError::new(
                self.peek().col,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn math(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => MathOp::Add,
                Tok::Minus => MathOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.term()?;
            let col = left.col;
            left = Expr {
                kind: ExprKind::Math(Box::new(left), op, Box::new(right)),
                col,
            };
        }
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.factor()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => MathOp::Mul,
                Tok::Slash => MathOp::Div,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.factor()?;
            let col = left.col;
            left = Expr {
                kind: ExprKind::Math(Box::new(left), op, Box::new(right)),
                col,
            };
        }
    }

    fn factor(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().clone();
        let kind = match t.tok {
            Tok::LParen => {
                self.bump();
                let inner = self.value()?;
                self.expect(Tok::RParen, "\")\"")?;
                return Ok(inner);
            }
            Tok::Minus | Tok::Plus => {
                self.bump();
                let negate = t.tok == Tok::Minus;
                match self.bump().tok {
                    Tok::Int(i) => ExprKind::Int(if negate { -i } else { i }),
                    Tok::Float(f) => ExprKind::Float(if negate { -f } else { f }),
                    _ => {
                        return Err(ParseError::new(
                            t.col,
                            "a sign must be followed by a number",
                        ));
                    }
                }
            }
            Tok::Str(s) => {
                self.bump();
                ExprKind::Str(s)
            }
            Tok::Int(i) => {
                self.bump();
                ExprKind::Int(i)
            }
            Tok::Float(f) => {
                self.bump();
                ExprKind::Float(f)
            }
            Tok::Bytes(b) => {
                self.bump();
                ExprKind::Bytes(b)
            }
            Tok::LBracket => self.list()?,
            Tok::LBrace => self.map()?,
            Tok::Ident(name) => self.ident(name, t.col)?,
            _ => return self.unexpected("a value (string, number, path, list, map or converter)"),
        };
        Ok(Expr { kind, col: t.col })
    }

    fn list(&mut self) -> Result<ExprKind, ParseError> {
        self.bump();
        let mut items = Vec::new();
        while self.peek().tok != Tok::RBracket {
            items.push(self.value()?);
            if self.peek().tok != Tok::Comma {
                break;
            }
            self.bump();
        }
        self.expect(Tok::RBracket, "\",\" or \"]\" in the list")?;
        Ok(ExprKind::List(items))
    }

    fn map(&mut self) -> Result<ExprKind, ParseError> {
        self.bump();
        let mut entries = Vec::new();
        while self.peek().tok != Tok::RBrace {
            let key = match self.peek().tok.clone() {
                Tok::Str(s) => s,
                _ => return self.unexpected("a string key in the map"),
            };
            self.bump();
            self.expect(Tok::Colon, "\":\" after the map key")?;
            entries.push((key, self.value()?));
            if self.peek().tok != Tok::Comma {
                break;
            }
            self.bump();
        }
        self.expect(Tok::RBrace, "\",\" or \"}\" in the map")?;
        Ok(ExprKind::Map(entries))
    }

    fn ident(&mut self, name: String, col: usize) -> Result<ExprKind, ParseError> {
        if KEYWORDS.contains(&name.as_str()) {
            return self.unexpected("a value");
        }
        self.bump();
        match name.as_str() {
            "true" => return Ok(ExprKind::Bool(true)),
            "false" => return Ok(ExprKind::Bool(false)),
            "nil" => return Ok(ExprKind::Nil),
            _ => {}
        }
        let upper = name.starts_with(|c: char| c.is_ascii_uppercase());
        if self.peek().tok == Tok::LParen {
            if !upper {
                return Err(ParseError::new(
                    col,
                    format!(
                        "{name:?} is an editor and cannot be used as a value; converters start with an upper-case letter"
                    ),
                ));
            }
            return Ok(ExprKind::Call(self.call(name, col)?));
        }
        if upper {
            return Ok(ExprKind::Enum(name));
        }
        let mut segments = vec![(name, col)];
        while self.peek().tok == Tok::Dot {
            self.bump();
            let t = self.peek().clone();
            match t.tok {
                Tok::Ident(s) => segments.push((s, t.col)),
                _ => return self.unexpected("a field name after \".\""),
            }
            self.bump();
        }
        let keys = self.keys()?;
        Ok(ExprKind::Path(Path { segments, keys }))
    }
}

mod cond;

#[cfg(test)]
mod tests;
