//! A test runtime: frame-system, balances, the model registry and the verification pallet.

use crate as pallet_verification;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, VariantCountOf},
};
use frame_system::EnsureRoot;
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u128;

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const DAVE: AccountId = 4;
pub const EVE: AccountId = 5;
/// An account with no funds.
pub const PAUPER: AccountId = 99;
pub const TREASURY: AccountId = 1_000;
pub const VALIDATOR_POT: AccountId = 1_001;

pub const MIN_BOND: Balance = 1_000;
pub const INITIAL_BALANCE: Balance = 100_000;
pub const UNBONDING: u64 = 10;
pub const MAX_WORKERS: u32 = 8;
pub const MAX_READY: u32 = 3;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(2)]
	pub type ModelRegistry = pallet_model_registry;

	#[runtime::pallet_index(3)]
	pub type Verification = pallet_verification;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<1>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
}

parameter_types! {
	pub const MaxArtifactSize: u64 = 1 << 30;
	pub const TreasuryAccount: AccountId = TREASURY;
	pub const ValidatorPotAccount: AccountId = VALIDATOR_POT;
	pub storage SlashFraction: Perbill = Perbill::from_percent(10);
	pub storage ValidatorShare: Perbill = Perbill::from_percent(10);
	pub storage TreasuryShare: Perbill = Perbill::from_percent(5);
}

impl pallet_model_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ModerationOrigin = EnsureRoot<AccountId>;
	type ModelDeposit = ConstU128<100>;
	type VersionDeposit = ConstU128<10>;
	type MaxPrice = ConstU128<1_000_000>;
	type MaxNameLen = ConstU32<32>;
	type MaxDescriptionLen = ConstU32<256>;
	type MaxUriLen = ConstU32<128>;
	type MaxBeneficiaries = ConstU32<4>;
	type MaxLineageDepth = ConstU32<3>;
	type MaxVersions = ConstU32<5>;
	type MaxModelsPerOwner = ConstU32<4>;
	type MaxArtifactSize = MaxArtifactSize;
	type RemovalDelay = ConstU64<20>;
	type PriceGrace = ConstU64<10>;
	type WeightInfo = ();
}

impl pallet_verification::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Registry = ModelRegistry;
	type MinBond = ConstU128<MIN_BOND>;
	type SlashFraction = SlashFraction;
	type ValidatorShare = ValidatorShare;
	type TreasuryShare = TreasuryShare;
	type ValidatorPotAccount = ValidatorPotAccount;
	type TreasuryAccount = TreasuryAccount;
	type UnbondingPeriod = ConstU64<UNBONDING>;
	type MaxWorkers = ConstU32<MAX_WORKERS>;
	type MaxRuntimeLen = ConstU32<32>;
	type MaxReadyModels = ConstU32<MAX_READY>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Publisher;
}

/// Publishes models for the benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct Publisher;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for Publisher {
	fn publish_model(
		owner: &AccountId,
	) -> (modelhub_primitives::registry::ModelId, modelhub_primitives::registry::ModelVersion) {
		let schema = crate::tests::schema();
		let model = pallet_model_registry::testing::publish::<Test>(
			*owner,
			1,
			vec![(*owner, sp_runtime::Permill::one())],
			None,
			schema,
			16,
		)
		.unwrap_or_default();
		(model, 1)
	}
}

/// Externalities with ALICE to EVE funded and the treasury and pot accounts existing.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("builds");
	let mut balances: Vec<(AccountId, Balance)> =
		[ALICE, BOB, CHARLIE, DAVE, EVE].iter().map(|who| (*who, INITIAL_BALANCE)).collect();
	balances.extend((10..30).map(|who| (who, INITIAL_BALANCE)));
	balances.push((TREASURY, 1));
	balances.push((VALIDATOR_POT, 1));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` and then checks the pallet's invariants.
pub fn run(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Verification::do_try_state().expect("verification invariants hold");
	});
}
