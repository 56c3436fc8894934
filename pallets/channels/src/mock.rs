//! A test runtime: frame-system, balances, the model registry, the verification pallet and the
//! channels pallet, with sr25519 accounts so vouchers are really signed.

use crate as pallet_channels;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, VariantCountOf},
};
use frame_system::EnsureRoot;
use modelhub_primitives::{inference::CallLedger, registry::ModelId};
use sp_core::{sr25519, Pair};
use sp_runtime::{
	traits::{IdentifyAccount, IdentityLookup, Verify},
	BuildStorage, MultiSignature, Perbill,
};
use std::cell::RefCell;

type Block = frame_system::mocking::MockBlock<Test>;
pub type Signature = MultiSignature;
pub type AccountPublic = <Signature as Verify>::Signer;
pub type AccountId = <AccountPublic as IdentifyAccount>::AccountId;
pub type Balance = u128;

pub const MIN_BOND: Balance = 1_000;
pub const INITIAL_BALANCE: Balance = 1_000_000;
pub const MIN_DEPOSIT: Balance = 100;
pub const MAX_LIFETIME: u64 = 1_000;
pub const CHALLENGE: u64 = 10;
pub const MAX_CALLS: u32 = 50;
pub const MIN_EXECUTION: Balance = 10;
pub const PRICE_GRACE: u64 = 10;

/// The key pair of a named test account.
pub fn pair(name: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(&format!("//{name}"), None).expect("a dev seed")
}

/// The account of a named test account.
pub fn account(name: &str) -> AccountId {
	AccountPublic::from(pair(name).public()).into_account()
}

pub fn alice() -> AccountId {
	account("Alice")
}
pub fn bob() -> AccountId {
	account("Bob")
}
pub fn charlie() -> AccountId {
	account("Charlie")
}
pub fn dave() -> AccountId {
	account("Dave")
}
pub fn treasury() -> AccountId {
	account("Treasury")
}
pub fn validator_pot() -> AccountId {
	account("ValidatorPot")
}

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

	#[runtime::pallet_index(4)]
	pub type Channels = pallet_channels;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = IdentityLookup<AccountId>;
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
	pub TreasuryAccount: AccountId = treasury();
	pub ValidatorPotAccount: AccountId = validator_pot();
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
	type MaxModelsPerOwner = ConstU32<32>;
	type MaxArtifactSize = MaxArtifactSize;
	type RemovalDelay = ConstU64<20>;
	type PriceGrace = ConstU64<PRICE_GRACE>;
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
	type UnbondingPeriod = ConstU64<10>;
	type MaxWorkers = ConstU32<8>;
	type MaxRuntimeLen = ConstU32<32>;
	type MaxReadyModels = ConstU32<3>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Publisher;
}

/// Publishes models for the verification pallet's benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct Publisher;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_verification::BenchmarkHelper<AccountId> for Publisher {
	fn publish_model(
		owner: &AccountId,
	) -> (modelhub_primitives::registry::ModelId, modelhub_primitives::registry::ModelVersion) {
		(crate::tests::Helper::publish(owner.clone()), 1)
	}
}

/// Settled calls as the ledger counted them: `(model, payer, calls, fees, royalty)`.
pub type Counted = (ModelId, AccountId, u64, Balance, Balance);

thread_local! {
	/// The calls the ledger counted.
	pub static LEDGER: RefCell<Vec<Counted>> = const { RefCell::new(Vec::new()) };
}

/// Counts settled calls in the registry and remembers them.
pub struct Ledger;

impl CallLedger<AccountId, Balance> for Ledger {
	fn note_settled_calls(
		model: ModelId,
		payer: &AccountId,
		calls: u64,
		fees: Balance,
		royalty: Balance,
	) {
		use modelhub_primitives::registry::ModelRegistry as _;
		ModelRegistry::note_calls(model, payer, calls, royalty);
		LEDGER
			.with(|ledger| ledger.borrow_mut().push((model, payer.clone(), calls, fees, royalty)));
	}
}

impl pallet_channels::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type OffchainSignature = Signature;
	type OffchainPublic = AccountPublic;
	type Registry = ModelRegistry;
	type Verifier = Verification;
	type Ledger = Ledger;
	type MinExecutionFee = ConstU128<MIN_EXECUTION>;
	type MinDeposit = ConstU128<MIN_DEPOSIT>;
	type MaxLifetime = ConstU64<MAX_LIFETIME>;
	type ChallengePeriod = ConstU64<CHALLENGE>;
	type MaxCallsPerSettlement = ConstU32<MAX_CALLS>;
	type MaxEndpointLen = ConstU32<64>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = crate::tests::Helper;
}

/// Externalities with the named accounts funded and the treasury and pot accounts existing.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("builds");
	let mut balances: Vec<(AccountId, Balance)> =
		[alice(), bob(), charlie(), dave()].into_iter().map(|who| (who, INITIAL_BALANCE)).collect();
	balances.push((treasury(), 1));
	balances.push((validator_pot(), 1));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	LEDGER.with(|ledger| ledger.borrow_mut().clear());
	ext
}

/// Runs `test` and then checks the pallets' invariants.
pub fn run(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Channels::do_try_state().expect("channel invariants hold");
		Verification::do_try_state().expect("verification invariants hold");
	});
}
