pub mod inspect;
pub mod logs;
pub mod run;
pub mod runs;
pub mod secrets;
pub mod server;
pub mod validate;
pub mod volumes;
