//! The pallets whose benchmarks the node's `benchmark pallet` subcommand runs.

frame_benchmarking::define_benchmarks!(
	[frame_benchmarking, BaselineBench::<Runtime>]
	[frame_system, SystemBench::<Runtime>]
	[frame_system_extensions, SystemExtensionsBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_utility, Utility]
	[pallet_sudo, Sudo]
	[pallet_parameters, Parameters]
	[pallet_model_registry, ModelRegistry]
	[pallet_verification, Verification]
	[pallet_inference, Inference]
	[pallet_channels, Channels]
);
