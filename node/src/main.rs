//! `modelhub-node`: the OPG Model Hub chain's node.

#![warn(missing_docs)]

#[cfg(feature = "benchmark-cli")]
mod benchmarking;
mod chain_spec;
mod cli;
mod command;
mod modelhub_rpc;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
