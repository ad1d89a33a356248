//! Tokenizer for the CEL subset. All offsets are byte offsets into the
//! source and always fall on UTF-8 character boundaries.

use super::CelError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Int(u64),
    Double(f64),
    Str(String),
    Ident(String),
    True,
    False,
    Null,
    In,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Dot,
    Comma,
    Colon,
    Question,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Not,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Eof,
}

impl Tok {
    /// Short human-readable description for error messages.
    pub(super) fn describe(&self) -> String {
        let fixed = match self {
            Tok::Int(v) => return format!("integer {v}"),
            Tok::Double(v) => return format!("number {v}"),
            Tok::Str(_) => "string literal",
            Tok::Ident(name) => return format!("identifier '{name}'"),
            Tok::True => "'true'",
            Tok::False => "'false'",
            Tok::Null => "'null'",
            Tok::In => "'in'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBracket => "'['",
            Tok::RBracket => "']'",
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::Dot => "'.'",
            Tok::Comma => "','",
            Tok::Colon => "':'",
            Tok::Question => "'?'",
            Tok::Plus => "'+'",
            Tok::Minus => "'-'",
            Tok::Star => "'*'",
            Tok::Slash => "'/'",
            Tok::Percent => "'%'",
            Tok::Not => "'!'",
            Tok::Eq => "'=='",
            Tok::Ne => "'!='",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::AndAnd => "'&&'",
            Tok::OrOr => "'||'",
            Tok::Eof => "end of input",
        };
        fixed.to_string()
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    pub offset: usize,
}

/// Identifiers CEL reserves; using them as names is a syntax error.
const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

fn syntax(offset: usize, message: impl Into<String>) -> CelError {
    CelError::Syntax {
        offset,
        message: message.into(),
    }
}

struct Lexer<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
}

/// Splits `src` into tokens; the last token is always [`Tok::Eof`].
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, CelError> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        lexer.skip_trivia();
        let offset = lexer.pos;
        let Some(&b) = lexer.bytes.get(offset) else {
            out.push(Token {
                tok: Tok::Eof,
                offset,
            });
            return Ok(out);
        };
        let tok = lexer.next_token(b)?;
        out.push(Token { tok, offset });
    }
}

impl Lexer<'_> {
    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos.checked_add(ahead)?).copied()
    }

    fn skip_trivia(&mut self) {
        while let Some(b) = self.peek_at(0) {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => self.pos += 1,
                b'/' if self.peek_at(1) == Some(b'/') => {
                    while let Some(c) = self.peek_at(0) {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn next_token(&mut self, b: u8) -> Result<Tok, CelError> {
        let start = self.pos;
        let two = |lexer: &mut Self, second: u8, yes: Tok, no: Option<Tok>| {
            if lexer.peek_at(1) == Some(second) {
                lexer.pos += 2;
                Ok(yes)
            } else if let Some(tok) = no {
                lexer.pos += 1;
                Ok(tok)
            } else {
                Err(syntax(
                    start,
                    format!("unexpected character '{}'", char::from(b)),
                ))
            }
        };
        let single = match b {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            b'?' => Some(Tok::Question),
            b'+' => Some(Tok::Plus),
            b'-' => Some(Tok::Minus),
            b'*' => Some(Tok::Star),
            b'/' => Some(Tok::Slash),
            b'%' => Some(Tok::Percent),
            _ => None,
        };
        if let Some(tok) = single {
            self.pos += 1;
            return Ok(tok);
        }
        match b {
            b'=' => two(self, b'=', Tok::Eq, None),
            b'!' => two(self, b'=', Tok::Ne, Some(Tok::Not)),
            b'<' => two(self, b'=', Tok::Le, Some(Tok::Lt)),
            b'>' => two(self, b'=', Tok::Ge, Some(Tok::Gt)),
            b'&' => two(self, b'&', Tok::AndAnd, None),
            b'|' => two(self, b'|', Tok::OrOr, None),
            b'.' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => self.number(),
            b'.' => {
                self.pos += 1;
                Ok(Tok::Dot)
            }
            b'0'..=b'9' => self.number(),
            b'\'' | b'"' => self.string(start, false),
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => self.ident_or_prefixed_string(),
            _ => {
                let shown = self.src.get(start..).and_then(|s| s.chars().next());
                Err(syntax(
                    start,
                    format!("unexpected character {:?}", shown.unwrap_or('\u{fffd}')),
                ))
            }
        }
    }

    fn ident_or_prefixed_string(&mut self) -> Result<Tok, CelError> {
        let start = self.pos;
        while self
            .peek_at(0)
            .is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric())
        {
            self.pos += 1;
        }
        let word = self.src.get(start..self.pos).unwrap_or_default();
        if matches!(self.peek_at(0), Some(b'\'' | b'"')) {
            match word {
                "r" | "R" => return self.string(start, true),
                "b" | "B" | "rb" | "rB" | "Rb" | "RB" | "br" | "bR" | "Br" | "BR" => {
                    return Err(syntax(start, "bytes literals are not supported"));
                }
                _ => {}
            }
        }
        Ok(match word {
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            "in" => Tok::In,
            _ if RESERVED.contains(&word) => {
                return Err(syntax(start, format!("reserved identifier '{word}'")));
            }
            _ => Tok::Ident(word.to_string()),
        })
    }

    fn digits(&mut self, pred: fn(&u8) -> bool) -> usize {
        let start = self.pos;
        while self.peek_at(0).as_ref().is_some_and(pred) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Tok, CelError> {
        let start = self.pos;
        if self.peek_at(0) == Some(b'0') && matches!(self.peek_at(1), Some(b'x' | b'X')) {
            self.pos += 2;
            let hex_start = self.pos;
            if self.digits(u8::is_ascii_hexdigit) == 0 {
                return Err(syntax(start, "hexadecimal literal has no digits"));
            }
            let text = self.src.get(hex_start..self.pos).unwrap_or_default();
            let value = u64::from_str_radix(text, 16)
                .map_err(|_| syntax(start, "integer literal out of range"))?;
            return self.int_suffix(start, value);
        }
        self.digits(u8::is_ascii_digit);
        let mut is_float = false;
        if self.peek_at(0) == Some(b'.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.digits(u8::is_ascii_digit);
            is_float = true;
        }
        if matches!(self.peek_at(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some(b'+' | b'-')));
            if self.peek_at(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1 + sign;
                self.digits(u8::is_ascii_digit);
                is_float = true;
            }
        }
        let text = self.src.get(start..self.pos).unwrap_or_default();
        if is_float {
            let value: f64 = text
                .parse()
                .map_err(|_| syntax(start, format!("invalid number literal '{text}'")))?;
            return Ok(Tok::Double(value));
        }
        let value: u64 = text
            .parse()
            .map_err(|_| syntax(start, "integer literal out of range"))?;
        self.int_suffix(start, value)
    }

    fn int_suffix(&mut self, start: usize, value: u64) -> Result<Tok, CelError> {
        if matches!(self.peek_at(0), Some(b'u' | b'U')) {
            return Err(syntax(start, "unsigned integer literals are not supported"));
        }
        Ok(Tok::Int(value))
    }

    /// Lexes a quoted string starting at `self.pos` (which must be on the
    /// opening quote, after any `r` prefix that began at `start`).
    fn string(&mut self, start: usize, raw: bool) -> Result<Tok, CelError> {
        let quote = self.peek_at(0).unwrap_or(b'"');
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let Some(b) = self.peek_at(0) else {
                return Err(syntax(start, "unterminated string literal"));
            };
            if b == quote {
                if !triple {
                    self.pos += 1;
                    return Ok(Tok::Str(out));
                }
                if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
                    self.pos += 3;
                    return Ok(Tok::Str(out));
                }
            }
            if !triple && (b == b'\n' || b == b'\r') {
                return Err(syntax(self.pos, "newline in string literal"));
            }
            if b == b'\\' && !raw {
                let escape_at = self.pos;
                self.pos += 1;
                out.push(self.escape(escape_at)?);
                continue;
            }
            let Some(c) = self.src.get(self.pos..).and_then(|s| s.chars().next()) else {
                return Err(syntax(self.pos, "invalid character in string literal"));
            };
            out.push(c);
            self.pos += c.len_utf8();
        }
    }

    /// Decodes one escape sequence; `self.pos` is just past the backslash.
    fn escape(&mut self, at: usize) -> Result<char, CelError> {
        let bad = || syntax(at, "invalid escape sequence");
        let b = self.peek_at(0).ok_or_else(bad)?;
        self.pos += 1;
        let simple = match b {
            b'\\' => Some('\\'),
            b'\'' => Some('\''),
            b'"' => Some('"'),
            b'`' => Some('`'),
            b'?' => Some('?'),
            b'a' => Some('\u{07}'),
            b'b' => Some('\u{08}'),
            b'f' => Some('\u{0c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'v' => Some('\u{0b}'),
            _ => None,
        };
        if let Some(c) = simple {
            return Ok(c);
        }
        let (count, radix) = match b {
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'x' | b'X' => (2, 16),
            b'0'..=b'3' => {
                self.pos -= 1;
                (3, 8)
            }
            _ => return Err(bad()),
        };
        let digits_start = self.pos;
        for _ in 0..count {
            match self.peek_at(0) {
                Some(d) if char::from(d).is_digit(radix) => self.pos += 1,
                _ => return Err(bad()),
            }
        }
        let text = self.src.get(digits_start..self.pos).ok_or_else(bad)?;
        let code = u32::from_str_radix(text, radix).map_err(|_| bad())?;
        char::from_u32(code).ok_or_else(|| syntax(at, "invalid code point in escape sequence"))
    }
}
