//! A test runtime: frame-system, balances and the registry.

use crate as pallet_model_registry;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, VariantCountOf},
};
use frame_system::EnsureRoot;
use sp_runtime::{BuildStorage, Permill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u128;

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const DAVE: AccountId = 4;
/// An account with no funds.
pub const PAUPER: AccountId = 99;

pub const MODEL_DEPOSIT: Balance = 100;
pub const VERSION_DEPOSIT: Balance = 10;
pub const MAX_PRICE: Balance = 1_000_000;
pub const INITIAL_BALANCE: Balance = 10_000;
/// Blocks after retirement before a model's records may be removed.
pub const REMOVAL_DELAY: u64 = 20;
pub const PRICE_GRACE: u64 = 10;

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
}

impl pallet_model_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ModerationOrigin = EnsureRoot<AccountId>;
	type ModelDeposit = ConstU128<MODEL_DEPOSIT>;
	type VersionDeposit = ConstU128<VERSION_DEPOSIT>;
	type MaxPrice = ConstU128<MAX_PRICE>;
	type MaxNameLen = ConstU32<32>;
	type MaxDescriptionLen = ConstU32<256>;
	type MaxUriLen = ConstU32<128>;
	type MaxBeneficiaries = ConstU32<4>;
	type MaxLineageDepth = ConstU32<3>;
	type MaxVersions = ConstU32<5>;
	type MaxModelsPerOwner = ConstU32<4>;
	type MaxArtifactSize = MaxArtifactSize;
	type RemovalDelay = ConstU64<REMOVAL_DELAY>;
	type PriceGrace = ConstU64<PRICE_GRACE>;
	type WeightInfo = ();
}

/// Externalities with ALICE, BOB, CHARLIE and DAVE funded.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("builds");
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(ALICE, INITIAL_BALANCE),
			(BOB, INITIAL_BALANCE),
			(CHARLIE, INITIAL_BALANCE),
			(DAVE, INITIAL_BALANCE),
		],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("balances genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` and then checks the registry's invariants.
pub fn run(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		ModelRegistry::do_try_state().expect("registry invariants hold");
	});
}

/// A share of `percent` percent.
pub fn pct(percent: u32) -> Permill {
	Permill::from_percent(percent)
}
