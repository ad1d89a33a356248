//! Recursive-descent / precedence-climbing parser.
//!
//! Stack safety: recursion (parentheses, lists, maps, call arguments, index
//! expressions, ternary else-chains, right operands of tighter-binding
//! binary operators) is bounded by [`MAX_NESTING`]; prefix operator runs are collected in a loop; postfix
//! and binary-operator chains are loops whose results are bounded in height
//! by [`Node::new`]. The functions on the recursive path keep their frames
//! small: error messages are built in separate cold functions.

use super::ast::{BinaryOp, Kind, Node, UnaryOp};
use super::lexer::{Tok, Token};
use super::value::CelValue;
use super::{CelError, MAX_AST_DEPTH, MAX_NESTING};

/// Global functions: name and accepted argument count.
const FUNCTIONS: &[(&str, usize)] = &[
    ("int", 1),
    ("double", 1),
    ("string", 1),
    ("bool", 1),
    ("size", 1),
    ("parseJson", 1),
    ("dyn", 1),
];

/// Receiver-style functions: name and accepted argument count.
const METHODS: &[(&str, usize)] = &[
    ("contains", 1),
    ("startsWith", 1),
    ("endsWith", 1),
    ("size", 0),
];

static EOF: Tok = Tok::Eof;

/// A binary operator token's meaning.
#[derive(Clone, Copy)]
enum Infix {
    Or,
    And,
    Bin(BinaryOp),
}

/// Precedence (higher binds tighter) and meaning of an infix operator.
fn infix(tok: &Tok) -> Option<(u8, Infix)> {
    let bin = |prec, op| Some((prec, Infix::Bin(op)));
    match tok {
        Tok::OrOr => Some((1, Infix::Or)),
        Tok::AndAnd => Some((2, Infix::And)),
        Tok::Eq => bin(3, BinaryOp::Eq),
        Tok::Ne => bin(3, BinaryOp::Ne),
        Tok::Lt => bin(3, BinaryOp::Lt),
        Tok::Le => bin(3, BinaryOp::Le),
        Tok::Gt => bin(3, BinaryOp::Gt),
        Tok::Ge => bin(3, BinaryOp::Ge),
        Tok::In => bin(3, BinaryOp::In),
        Tok::Plus => bin(4, BinaryOp::Add),
        Tok::Minus => bin(4, BinaryOp::Sub),
        Tok::Star => bin(5, BinaryOp::Mul),
        Tok::Slash => bin(5, BinaryOp::Div),
        Tok::Percent => bin(5, BinaryOp::Rem),
        _ => None,
    }
}

/// Joins two operands; `&&` and `||` chains are flattened into one node.
fn combine(op: Infix, lhs: Node, rhs: Node, offset: usize) -> Result<Node, CelError> {
    let is_and = match op {
        Infix::Bin(b) => return Node::new(Kind::Binary(b, Box::new(lhs), Box::new(rhs)), offset),
        Infix::And => true,
        Infix::Or => false,
    };
    let Node {
        kind,
        offset: lhs_offset,
        depth: lhs_depth,
    } = lhs;
    let depth = lhs_depth.max(rhs.depth + 1);
    match kind {
        Kind::And(mut items) if is_and => {
            items.push(rhs);
            Node::with_depth(Kind::And(items), lhs_offset, depth)
        }
        Kind::Or(mut items) if !is_and => {
            items.push(rhs);
            Node::with_depth(Kind::Or(items), lhs_offset, depth)
        }
        kind => {
            let lhs = Node::with_depth(kind, lhs_offset, lhs_depth)?;
            let items = vec![lhs, rhs];
            let kind = if is_and {
                Kind::And(items)
            } else {
                Kind::Or(items)
            };
            Node::new(kind, lhs_offset)
        }
    }
}

fn wrap_unary(ops: Vec<(UnaryOp, usize)>, mut node: Node) -> Result<Node, CelError> {
    for (op, offset) in ops.into_iter().rev() {
        node = Node::new(Kind::Unary(op, Box::new(node)), offset)?;
    }
    Ok(node)
}

fn arity(table: &[(&str, usize)], name: &str) -> Option<usize> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, count)| *count)
}

fn syntax(offset: usize, message: impl Into<String>) -> CelError {
    CelError::Syntax {
        offset,
        message: message.into(),
    }
}

#[cold]
fn too_deep(offset: usize) -> CelError {
    CelError::TooComplex {
        message: format!("expression nesting exceeds {MAX_NESTING} levels (at offset {offset})"),
    }
}

#[cold]
fn too_many_unary(offset: usize) -> CelError {
    CelError::TooComplex {
        message: format!(
            "more than {MAX_AST_DEPTH} consecutive unary operators (at offset {offset})"
        ),
    }
}

#[cold]
fn unexpected(tok: &Tok, offset: usize) -> CelError {
    if *tok == Tok::Eof {
        syntax(offset, "unexpected end of input")
    } else {
        syntax(offset, format!("unexpected {}", tok.describe()))
    }
}

#[cold]
fn expected(what: &str, found: &Tok, offset: usize) -> CelError {
    syntax(
        offset,
        format!("expected {what}, found {}", found.describe()),
    )
}

#[cold]
fn unknown_callable(what: &str, name: &str, offset: usize) -> CelError {
    syntax(offset, format!("unknown {what} '{name}'"))
}

#[cold]
fn wrong_arity(name: &str, want: usize, got: usize, offset: usize) -> CelError {
    syntax(
        offset,
        format!("'{name}' expects {want} argument(s), got {got}"),
    )
}

pub(super) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    nesting: usize,
}

impl Parser {
    pub(super) fn new(toks: Vec<Token>) -> Parser {
        Parser {
            toks,
            pos: 0,
            nesting: 0,
        }
    }

    /// Parses a whole expression, requiring all input to be consumed.
    pub(super) fn parse_all(&mut self) -> Result<Node, CelError> {
        let node = self.parse_expr()?;
        if *self.peek() != Tok::Eof {
            return Err(unexpected(self.peek(), self.offset()));
        }
        Ok(node)
    }

    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&EOF, |t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(0, |t| t.offset)
    }

    /// Takes the current token and advances (never past the end).
    fn bump(&mut self) -> Tok {
        match self.toks.get_mut(self.pos) {
            Some(t) if t.tok != Tok::Eof => {
                self.pos += 1;
                std::mem::replace(&mut t.tok, Tok::Eof)
            }
            _ => Tok::Eof,
        }
    }

    fn expect(&mut self, want: Tok) -> Result<(), CelError> {
        if *self.peek() == want {
            self.bump();
            Ok(())
        } else {
            Err(expected(&want.describe(), self.peek(), self.offset()))
        }
    }

    fn parse_expr(&mut self) -> Result<Node, CelError> {
        self.enter()?;
        let result = self.parse_conditional();
        self.nesting -= 1;
        result
    }

    /// Accounts for one level of recursion (undone by the caller).
    fn enter(&mut self) -> Result<(), CelError> {
        if self.nesting >= MAX_NESTING {
            return Err(too_deep(self.offset()));
        }
        self.nesting += 1;
        Ok(())
    }

    fn parse_conditional(&mut self) -> Result<Node, CelError> {
        let cond = self.parse_binary(1)?;
        if *self.peek() != Tok::Question {
            return Ok(cond);
        }
        let offset = self.offset();
        self.bump();
        let then = self.parse_binary(1)?;
        self.expect(Tok::Colon)?;
        let otherwise = self.parse_expr()?;
        Node::new(
            Kind::Cond(Box::new(cond), Box::new(then), Box::new(otherwise)),
            offset,
        )
    }

    /// Precedence climbing. Parsing a right operand that binds tighter
    /// recurses, and counts as one nesting level.
    fn parse_binary(&mut self, min_prec: u8) -> Result<Node, CelError> {
        let mut lhs = self.parse_unary()?;
        while let Some((prec, op)) = infix(self.peek()) {
            if prec < min_prec {
                break;
            }
            let offset = self.offset();
            self.bump();
            self.enter()?;
            let rhs = self.parse_binary(prec + 1);
            self.nesting -= 1;
            lhs = combine(op, lhs, rhs?, offset)?;
        }
        Ok(lhs)
    }

    fn parse_unary(&mut self) -> Result<Node, CelError> {
        let mut ops = self.prefix_ops()?;
        let primary = match (ops.last(), self.peek()) {
            (Some(&(UnaryOp::Neg, offset)), &Tok::Int(value)) => {
                // Fold the innermost negation into the literal so that
                // -9223372036854775808 is representable.
                ops.pop();
                self.bump();
                let negated = i64::try_from(-i128::from(value))
                    .map_err(|_| syntax(offset, "integer literal out of range"))?;
                Node::new(Kind::Lit(CelValue::Int(negated)), offset)?
            }
            _ => self.parse_primary()?,
        };
        let node = self.parse_postfix(primary)?;
        wrap_unary(ops, node)
    }

    /// Collects a run of `!` / `-` prefix operators without recursing.
    fn prefix_ops(&mut self) -> Result<Vec<(UnaryOp, usize)>, CelError> {
        let mut ops = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Not => UnaryOp::Not,
                Tok::Minus => UnaryOp::Neg,
                _ => return Ok(ops),
            };
            if ops.len() >= MAX_AST_DEPTH {
                return Err(too_many_unary(self.offset()));
            }
            ops.push((op, self.offset()));
            self.bump();
        }
    }

    fn parse_postfix(&mut self, mut node: Node) -> Result<Node, CelError> {
        loop {
            node = match self.peek() {
                Tok::Dot => self.parse_field(node)?,
                Tok::LBracket => self.parse_index(node)?,
                _ => return Ok(node),
            };
        }
    }

    /// `.name` or `.name(args)`; the current token is the dot.
    fn parse_field(&mut self, target: Node) -> Result<Node, CelError> {
        self.bump();
        let offset = self.offset();
        let Tok::Ident(name) = self.bump() else {
            return Err(syntax(offset, "expected a field or method name after '.'"));
        };
        if *self.peek() != Tok::LParen {
            return Node::new(Kind::Select(Box::new(target), name), offset);
        }
        let args = self.parse_call_args(METHODS, "method", &name, offset)?;
        Node::new(Kind::Method(Box::new(target), name, args), offset)
    }

    /// `[index]`; the current token is the opening bracket.
    fn parse_index(&mut self, target: Node) -> Result<Node, CelError> {
        let offset = self.offset();
        self.bump();
        let index = self.parse_expr()?;
        self.expect(Tok::RBracket)?;
        Node::new(Kind::Index(Box::new(target), Box::new(index)), offset)
    }

    /// `(args)` of a call to a known function or method, arity-checked.
    fn parse_call_args(
        &mut self,
        table: &[(&str, usize)],
        what: &str,
        name: &str,
        offset: usize,
    ) -> Result<Vec<Node>, CelError> {
        let Some(want) = arity(table, name) else {
            return Err(unknown_callable(what, name, offset));
        };
        self.expect(Tok::LParen)?;
        let args = self.parse_items(Tok::RParen)?;
        if args.len() != want {
            return Err(wrong_arity(name, want, args.len(), offset));
        }
        Ok(args)
    }

    /// Comma-separated expressions up to `close` (consumed); a trailing
    /// comma is allowed.
    fn parse_items(&mut self, close: Tok) -> Result<Vec<Node>, CelError> {
        let mut items = Vec::new();
        while *self.peek() != close {
            items.push(self.parse_expr()?);
            if !self.list_separator(&close)? {
                break;
            }
        }
        self.bump();
        Ok(items)
    }

    /// `key: value` entries up to `}` (consumed).
    fn parse_entries(&mut self) -> Result<Vec<(Node, Node)>, CelError> {
        let mut entries = Vec::new();
        while *self.peek() != Tok::RBrace {
            let key = self.parse_expr()?;
            self.expect(Tok::Colon)?;
            let value = self.parse_expr()?;
            entries.push((key, value));
            if !self.list_separator(&Tok::RBrace)? {
                break;
            }
        }
        self.bump();
        Ok(entries)
    }

    /// After an item: consumes a comma (returns true: more may follow) or
    /// sees the closing token (returns false, leaving it); else an error.
    fn list_separator(&mut self, close: &Tok) -> Result<bool, CelError> {
        if *self.peek() == Tok::Comma {
            self.bump();
            Ok(true)
        } else if self.peek() == close {
            Ok(false)
        } else {
            let what = format!("',' or {}", close.describe());
            Err(expected(&what, self.peek(), self.offset()))
        }
    }

    fn parse_primary(&mut self) -> Result<Node, CelError> {
        let offset = self.offset();
        match self.peek() {
            Tok::Ident(_) => self.parse_ident(offset),
            Tok::LParen => {
                self.bump();
                let inner = self.parse_expr()?;
                self.expect(Tok::RParen)?;
                Ok(inner)
            }
            Tok::LBracket => {
                self.bump();
                let items = self.parse_items(Tok::RBracket)?;
                Node::new(Kind::List(items), offset)
            }
            Tok::LBrace => {
                self.bump();
                let entries = self.parse_entries()?;
                Node::new(Kind::Map(entries), offset)
            }
            _ => self.parse_literal(offset),
        }
    }

    fn parse_literal(&mut self, offset: usize) -> Result<Node, CelError> {
        let value = match self.peek() {
            Tok::Int(v) => CelValue::Int(
                i64::try_from(*v).map_err(|_| syntax(offset, "integer literal out of range"))?,
            ),
            Tok::Double(v) => CelValue::Double(*v),
            Tok::True => CelValue::Bool(true),
            Tok::False => CelValue::Bool(false),
            Tok::Null => CelValue::Null,
            Tok::Str(_) => match self.bump() {
                Tok::Str(s) => return Node::new(Kind::Lit(CelValue::String(s)), offset),
                other => return Err(unexpected(&other, offset)),
            },
            other => return Err(unexpected(other, offset)),
        };
        self.bump();
        Node::new(Kind::Lit(value), offset)
    }

    /// A variable reference or a global function call.
    fn parse_ident(&mut self, offset: usize) -> Result<Node, CelError> {
        let Tok::Ident(name) = self.bump() else {
            return Err(syntax(offset, "expected an identifier"));
        };
        if *self.peek() != Tok::LParen {
            return Node::new(Kind::Ident(name), offset);
        }
        if name == "has" {
            return self.parse_has(offset);
        }
        let args = self.parse_call_args(FUNCTIONS, "function", &name, offset)?;
        Node::new(Kind::Call(name, args), offset)
    }

    fn parse_has(&mut self, offset: usize) -> Result<Node, CelError> {
        self.expect(Tok::LParen)?;
        let arg = self.parse_expr()?;
        self.expect(Tok::RParen)?;
        match arg.kind {
            Kind::Select(operand, field) => Node::new(Kind::Has(operand, field), offset),
            _ => Err(syntax(
                offset,
                "has() requires a field selection argument such as has(a.b)",
            )),
        }
    }
}
