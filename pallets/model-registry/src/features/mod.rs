//! The registry's capabilities, one file each.

mod manage;
mod publish;
