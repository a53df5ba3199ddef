//! Turns one OTTL statement into tokens, each with the column where it starts.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier: path segment, function name, enum, keyword.
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    /// `0x...` byte-slice literal.
    Bytes(Vec<u8>),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Dot,
    /// `=` in a named argument.
    Assign,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("{s:?}"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::Bytes(_) => "byte literal".into(),
            Tok::Eof => "the end of the statement".into(),
            other => format!("\"{}\"", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Dot => ".",
            Tok::Assign => "=",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            _ => "?",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// 1-based column, counted in characters.
    pub col: usize,
}

pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let prev_is_operand = matches!(
            out.last().map(|t| &t.tok),
            Some(Tok::Ident(_) | Tok::RBracket | Tok::RParen)
        );
        let next = chars.get(i + 1).copied();
        let (tok, len) = match c {
            '"' => lex_string(&chars, i)?,
            '0' if matches!(next, Some('x' | 'X')) => lex_bytes(&chars, i)?,
            '0'..='9' => lex_number(&chars, i)?,
            '.' if !prev_is_operand && next.is_some_and(|n| n.is_ascii_digit()) => {
                lex_number(&chars, i)?
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = scan(&chars, i, |c| c.is_ascii_alphanumeric() || c == '_');
                (Tok::Ident(chars[i..end].iter().collect()), end - i)
            }
            '=' if next == Some('=') => (Tok::Eq, 2),
            '!' if next == Some('=') => (Tok::Ne, 2),
            '<' if next == Some('=') => (Tok::Le, 2),
            '>' if next == Some('=') => (Tok::Ge, 2),
            '=' => (Tok::Assign, 1),
            '<' => (Tok::Lt, 1),
            '>' => (Tok::Gt, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '{' => (Tok::LBrace, 1),
            '}' => (Tok::RBrace, 1),
            ',' => (Tok::Comma, 1),
            ':' => (Tok::Colon, 1),
            '.' => (Tok::Dot, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '/' => (Tok::Slash, 1),
            other => {
                return Err(ParseError::new(
                    col,
                    format!("unexpected character {other:?}"),
                ));
            }
        };
        out.push(Token { tok, col });
        i += len;
    }
    out.push(Token {
        tok: Tok::Eof,
        col: chars.len() + 1,
    });
    Ok(out)
}

fn scan(chars: &[char], start: usize, f: impl Fn(char) -> bool) -> usize {
    let mut end = start;
    while end < chars.len() && f(chars[end]) {
        end += 1;
    }
    end
}

fn lex_string(chars: &[char], start: usize) -> Result<(Tok, usize), ParseError> {
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((Tok::Str(s), i + 1 - start)),
            '\\' if i + 1 < chars.len() => {
                match chars[i + 1] {
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    // Unknown escapes stay as written, so regexes like "\d" survive.
                    other => {
                        s.push('\\');
                        s.push(other);
                    }
                }
                i += 2;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(ParseError::new(
        start + 1,
        "string is not closed (missing \")",
    ))
}

fn lex_bytes(chars: &[char], start: usize) -> Result<(Tok, usize), ParseError> {
    let end = scan(chars, start + 2, |c| c.is_ascii_hexdigit());
    let hex: String = chars[start + 2..end].iter().collect();
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return Err(ParseError::new(
            start + 1,
            "byte literal needs an even, non-zero number of hex digits",
        ));
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|e| ParseError::new(start + 1, format!("invalid byte literal: {e}")))?;
    Ok((Tok::Bytes(bytes), end - start))
}

fn lex_number(chars: &[char], start: usize) -> Result<(Tok, usize), ParseError> {
    let int_end = scan(chars, start, |c| c.is_ascii_digit());
    let (end, is_float) = if chars.get(int_end) == Some(&'.') {
        (scan(chars, int_end + 1, |c| c.is_ascii_digit()), true)
    } else {
        (int_end, false)
    };
    let text: String = chars[start..end].iter().collect();
    let tok = if is_float {
        Tok::Float(
            text.parse()
                .map_err(|e| ParseError::new(start + 1, format!("invalid number {text}: {e}")))?,
        )
    } else {
        Tok::Int(text.parse().map_err(|_| {
            ParseError::new(start + 1, format!("integer {text} does not fit in 64 bits"))
        })?)
    };
    Ok((tok, end - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_a_statement_with_columns() {
        let t = tokenize(r#"set(attributes["k"], 1) where name != "x""#).unwrap();
        assert_eq!(
            t[0],
            Token {
                tok: Tok::Ident("set".into()),
                col: 1
            }
        );
        assert_eq!(
            t[4],
            Token {
                tok: Tok::Str("k".into()),
                col: 16
            }
        );
        assert!(t.iter().any(|t| t.tok == Tok::Ne && t.col == 36));
    }

    #[test]
    fn lexes_numbers_bytes_and_escapes() {
        assert_eq!(
            toks("1 .5 2.25 0x0aff"),
            [
                Tok::Int(1),
                Tok::Float(0.5),
                Tok::Float(2.25),
                Tok::Bytes(vec![10, 255]),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks(r#""a\"b\\c\d""#),
            [Tok::Str(r#"a"b\c\d"#.into()), Tok::Eof]
        );
        assert_eq!(
            toks("a.b"),
            [
                Tok::Ident("a".into()),
                Tok::Dot,
                Tok::Ident("b".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn reports_unclosed_strings_and_stray_characters() {
        assert_eq!(tokenize(r#"set(x, "abc)"#).unwrap_err().col, 8);
        assert_eq!(tokenize("set(x, 1) & y").unwrap_err().col, 11);
        assert_eq!(tokenize("99999999999999999999").unwrap_err().col, 1);
    }
}
