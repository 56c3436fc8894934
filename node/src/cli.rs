//! Command-line interface of the node.

use sc_cli::RunCmd;

/// `modelhub-node [SUBCOMMAND] [OPTIONS]`: without a subcommand, runs the node.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A maintenance subcommand; none runs the node.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options for running the node.
	#[clap(flatten)]
	pub run: RunCmd,

	/// Keep the hub's history (models, calls, payers, workers, day by day) in an SQLite index
	/// beside the chain's database, filled from finalized blocks, and serve it through the
	/// `hubindex_*` JSON-RPC methods the explorer reads.
	#[arg(long)]
	pub hub_index: bool,

	/// Where the hub index lives; the default is `hub-index.sqlite` in the chain's folder of
	/// the base path.
	#[arg(long, value_name = "PATH", requires = "hub_index")]
	pub hub_index_path: Option<std::path::PathBuf>,
}

/// Maintenance subcommands.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect and insert keys.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Print a chain specification (JSON) for a preset or a file.
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export a chain specification.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Check that a block imports.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks to a file.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state at a block as a chain specification.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks from a file.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Delete the whole chain database.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain by a number of blocks.
	Revert(sc_cli::RevertCmd),

	/// Benchmarks: pallets (weights), storage, block and extrinsic overhead, machine (a node built
	/// with `--features benchmark-cli`).
	#[cfg(feature = "benchmark-cli")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Database column information.
	ChainInfo(sc_cli::ChainInfoCmd),
}
