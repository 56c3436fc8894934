//! Configuration of the Model Hub's own pallets.

use frame_support::{parameter_types, traits::ConstU32};

use crate::{AccountId, Balance, Balances, Runtime, RuntimeHoldReason, OPG};

parameter_types! {
	/// Deposit held per published model.
	pub const ModelDeposit: Balance = OPG;
	/// Deposit held per published version.
	pub const VersionDeposit: Balance = OPG / 10;
	/// The highest price per call a model may ask: one million OPG.
	pub const MaxModelPrice: Balance = 1_000_000 * OPG;
	/// Largest ONNX artifact: 2 GiB (ONNX's protobuf limit).
	pub const MaxArtifactSize: u64 = 2 * 1024 * 1024 * 1024;
}

impl pallet_model_registry::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	/// Root for now; a governance track later.
	type ModerationOrigin = frame_system::EnsureRoot<AccountId>;
	type ModelDeposit = ModelDeposit;
	type VersionDeposit = VersionDeposit;
	type MaxPrice = MaxModelPrice;
	type MaxNameLen = ConstU32<64>;
	type MaxDescriptionLen = ConstU32<1024>;
	type MaxUriLen = ConstU32<256>;
	type MaxBeneficiaries = ConstU32<16>;
	type MaxLineageDepth = ConstU32<8>;
	type MaxVersions = ConstU32<64>;
	type MaxModelsPerOwner = ConstU32<256>;
	type MaxArtifactSize = MaxArtifactSize;
	type WeightInfo = pallet_model_registry::weights::SubstrateWeight<Runtime>;
}
