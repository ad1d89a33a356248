//! TEMPORARY: replaced by the CEL evaluator under development.
#[derive(Debug)]
pub struct Expr;
#[derive(Debug, thiserror::Error)]
#[error("cel")]
pub struct CelError;
pub fn parse(_s: &str) -> Result<Expr, CelError> {
    Ok(Expr)
}
impl Expr {
    pub fn referenced_parameters(&self) -> Vec<String> {
        vec![]
    }
}
