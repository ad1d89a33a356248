pub mod inspect;
pub mod validate;
