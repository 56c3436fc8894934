//! `modelhub-node`: the OPG Model Hub chain's node.

#![warn(missing_docs)]
// `sc_cli::Error`, the error of every command and of the service builders, is large; it is
// returned once per command, never on a hot path.
#![allow(clippy::result_large_err)]

#[cfg(feature = "benchmark-cli")]
mod benchmarking;
mod chain_spec;
mod cli;
mod command;
mod hub_index;
mod modelhub_rpc;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
