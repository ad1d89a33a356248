//! The abstract syntax tree. Every node records its height, which may not
//! exceed [`MAX_AST_DEPTH`], so recursive walks over a tree (evaluation,
//! drop, analysis) use bounded stack.

use super::value::CelValue;
use super::{CelError, MAX_AST_DEPTH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl BinaryOp {
    pub(super) fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Lit(CelValue),
    Ident(String),
    Select(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    /// `has(operand.field)`
    Has(Box<Node>, String),
    Call(String, Vec<Node>),
    Method(Box<Node>, String, Vec<Node>),
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Unary(UnaryOp, Box<Node>),
    Binary(BinaryOp, Box<Node>, Box<Node>),
    /// Flattened `a && b && ...` chain.
    And(Vec<Node>),
    /// Flattened `a || b || ...` chain.
    Or(Vec<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
}

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub kind: Kind,
    pub offset: usize,
    pub depth: usize,
}

impl Node {
    /// Builds a node, computing its height and enforcing [`MAX_AST_DEPTH`].
    pub(super) fn new(kind: Kind, offset: usize) -> Result<Node, CelError> {
        let child = |n: &Node| n.depth;
        let max_child = match &kind {
            Kind::Lit(_) | Kind::Ident(_) => 0,
            Kind::Select(a, _) | Kind::Has(a, _) | Kind::Unary(_, a) => a.depth,
            Kind::Index(a, b) | Kind::Binary(_, a, b) => a.depth.max(b.depth),
            Kind::Call(_, args) | Kind::List(args) | Kind::And(args) | Kind::Or(args) => {
                args.iter().map(child).max().unwrap_or(0)
            }
            Kind::Method(t, _, args) => args.iter().map(child).max().unwrap_or(0).max(t.depth),
            Kind::Map(entries) => entries
                .iter()
                .map(|(k, v)| k.depth.max(v.depth))
                .max()
                .unwrap_or(0),
            Kind::Cond(a, b, c) => a.depth.max(b.depth).max(c.depth),
        };
        Node::with_depth(kind, offset, max_child + 1)
    }

    /// Builds a node whose height the caller has already computed.
    pub(super) fn with_depth(kind: Kind, offset: usize, depth: usize) -> Result<Node, CelError> {
        if depth > MAX_AST_DEPTH {
            return Err(too_tall(offset));
        }
        Ok(Node {
            kind,
            offset,
            depth,
        })
    }
}

#[cold]
fn too_tall(offset: usize) -> CelError {
    CelError::TooComplex {
        message: format!("expression nesting exceeds {MAX_AST_DEPTH} levels (at offset {offset})"),
    }
}
