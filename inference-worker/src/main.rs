//! `modelhub-worker`: the process an inference-worker operator runs beside a node.
//!
//! It bonds OPG, follows the chain for jobs assigned to it, runs the models with ONNX Runtime
//! and submits attested results. This release carries the command-line surface and version.

use clap::Parser;

/// Command-line interface of the inference worker.
#[derive(Debug, Parser)]
#[command(name = "modelhub-worker", version, about)]
struct Cli {}

fn main() {
	let _cli = Cli::parse();
	println!(
		"modelhub-worker {} (native token {})",
		env!("CARGO_PKG_VERSION"),
		modelhub_primitives::currency::TOKEN_SYMBOL
	);
}
