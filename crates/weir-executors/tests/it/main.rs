//! Integration tests of weir-executors: real `sh` children, the KFP corpus, real venvs.

mod common;
mod process;
mod pyenv;
mod pyenv_corpus;
