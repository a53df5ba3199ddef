//! Conditions: `a == b and not (c or d)`, with `not` binding tightest, then `and`, then `or`.

use super::Parser;
use crate::ottl::ParseError;
use crate::ottl::ast::{BoolExpr, CmpOp};
use crate::ottl::lexer::Tok;

impl Parser {
    pub(super) fn or(&mut self) -> Result<BoolExpr, ParseError> {
        self.nested(Self::or_terms)
    }

    fn or_terms(&mut self) -> Result<BoolExpr, ParseError> {
        let mut terms = vec![self.and()?];
        while self.eat_keyword("or") {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            BoolExpr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<BoolExpr, ParseError> {
        let mut terms = vec![self.not()?];
        while self.eat_keyword("and") {
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            BoolExpr::And(terms)
        })
    }

    fn not(&mut self) -> Result<BoolExpr, ParseError> {
        if self.eat_keyword("not") {
            return Ok(BoolExpr::Not(Box::new(self.nested(Self::not)?)));
        }
        self.boolean()
    }

    fn boolean(&mut self) -> Result<BoolExpr, ParseError> {
        if self.peek().tok == Tok::LParen {
            // `(a or b)` groups conditions, `(1 + 2) * 3 > x` groups math: try the first.
            let start = self.pos;
            self.bump();
            if let Ok(inner) = self.or()
                && self.peek().tok == Tok::RParen
                && !self.is_operator_at(1)
            {
                self.bump();
                return Ok(inner);
            }
            self.pos = start;
        }
        let left = self.value()?;
        let op = match self.peek().tok {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            _ => return Ok(BoolExpr::Term(left)),
        };
        self.bump();
        Ok(BoolExpr::Cmp(left, op, self.value()?))
    }

    fn is_operator_at(&self, n: usize) -> bool {
        matches!(
            self.peek_at(n),
            Tok::Eq
                | Tok::Ne
                | Tok::Lt
                | Tok::Le
                | Tok::Gt
                | Tok::Ge
                | Tok::Plus
                | Tok::Minus
                | Tok::Star
                | Tok::Slash
        )
    }
}
