//! A test runtime: frame-system, balances, the model registry, verification and inference.

use crate as pallet_inference;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, Hooks, VariantCountOf},
	weights::Weight,
};
use frame_system::EnsureRoot;
use modelhub_primitives::{
	inference::result_commitment,
	registry::ModelId,
	schema::{Dim, IoSchema, TensorSpec},
	tensor::{DType, Limits, Tensor, TensorSet},
};
use sp_core::{sr25519, Pair};
use sp_runtime::{BuildStorage, Perbill, Permill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u128;

/// Owns the test model and takes 70% of its royalties.
pub const OWNER: AccountId = 1;
/// Takes 30% of the test model's royalties.
pub const CO_AUTHOR: AccountId = 2;
/// Pays for requests.
pub const REQUESTER: AccountId = 3;
/// An account with no funds.
pub const PAUPER: AccountId = 99;
/// The first of the workers `WORKER..WORKER + WORKERS`.
pub const WORKER: AccountId = 10;
pub const WORKERS: u64 = 5;
pub const TREASURY: AccountId = 1_000;
pub const VALIDATOR_POT: AccountId = 1_001;

pub const INITIAL_BALANCE: Balance = 1_000_000;
pub const BOND: Balance = 10_000;
pub const PRICE: Balance = 1_000;
pub const BASE_FEE: Balance = 100;
pub const PER_BYTE: Balance = 1;
pub const RESULT_TIMEOUT: u64 = 5;
pub const COMMIT_TIMEOUT: u64 = 4;
pub const REVEAL_TIMEOUT: u64 = 3;
pub const RETENTION: u64 = 10;
pub const EPOCH: u64 = 100;
pub const DISPUTE_WINDOW: u64 = 20;

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
	pub type Inference = pallet_inference;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ExistentialDeposit;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
}

parameter_types! {
	/// 1 unless a test raises it.
	pub static ExistentialDeposit: Balance = 1;
	pub const MaxArtifactSize: u64 = 1 << 30;
	pub const TreasuryAccount: AccountId = TREASURY;
	pub const ValidatorPotAccount: AccountId = VALIDATOR_POT;
	pub const SlashFraction: Perbill = Perbill::from_percent(10);
	pub const ValidatorShare: Perbill = Perbill::from_percent(10);
	pub const TreasuryShare: Perbill = Perbill::from_percent(5);
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
	type MaxModelsPerOwner = ConstU32<8>;
	type MaxArtifactSize = MaxArtifactSize;
	type RemovalDelay = ConstU64<EPOCH>;
	type PriceGrace = ConstU64<10>;
	type WeightInfo = ();
}

impl pallet_verification::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Registry = ModelRegistry;
	type MinBond = ConstU128<BOND>;
	type SlashFraction = SlashFraction;
	type ValidatorShare = ValidatorShare;
	type TreasuryShare = TreasuryShare;
	type ValidatorPotAccount = ValidatorPotAccount;
	type TreasuryAccount = TreasuryAccount;
	type UnbondingPeriod = ConstU64<10>;
	type MaxWorkers = ConstU32<16>;
	type MaxRuntimeLen = ConstU32<32>;
	type MaxReadyModels = ConstU32<8>;
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
		_owner: &AccountId,
	) -> (modelhub_primitives::registry::ModelId, modelhub_primitives::registry::ModelVersion) {
		(publish_model(), 1)
	}
}

impl pallet_inference::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Registry = ModelRegistry;
	type Verifier = Verification;
	type BaseExecutionFee = ConstU128<BASE_FEE>;
	type ExecutionFeePerByte = ConstU128<PER_BYTE>;
	type WeightToFee = ChainWeightFee;
	type OutputFeePerByte = OutputFeePerByte;
	type ChainFeeBeneficiary = ValidatorPotAccount;
	type MaxRedundancy = ConstU32<5>;
	type MaxInputLen = ConstU32<1_024>;
	type MaxOutputLen = ConstU32<1_024>;
	type MaxComparedElements = ConstU32<128>;
	type MaxReassignments = ConstU32<2>;
	type ResultTimeout = ConstU64<RESULT_TIMEOUT>;
	type CommitTimeout = ConstU64<COMMIT_TIMEOUT>;
	type RevealTimeout = ConstU64<REVEAL_TIMEOUT>;
	type ResultRetention = ConstU64<RETENTION>;
	type DeadlineWeight = DeadlineWeight;
	type EpochLength = ConstU64<EPOCH>;
	type EpochsKept = ConstU32<2>;
	type DisputeWindow = ConstU64<DISPUTE_WINDOW>;
	type MaxModelsPerEpoch = ConstU32<2>;
	type WeightInfo = ();
}

parameter_types! {
	/// Chain fee per output byte: none unless a test sets it.
	pub static OutputFeePerByte: Balance = 0;
	/// Chain fee per millisecond of weight: none unless a test sets it.
	pub static FeePerMillisecond: Balance = 0;
}

/// The chain fee of a weight: [`FeePerMillisecond`] per whole millisecond of `ref_time`.
pub struct ChainWeightFee;

impl frame_support::weights::WeightToFee for ChainWeightFee {
	type Balance = Balance;

	fn weight_to_fee(weight: &Weight) -> Balance {
		Balance::from(weight.ref_time() / 1_000_000_000).saturating_mul(FeePerMillisecond::get())
	}
}

parameter_types! {
	/// How many missed deadlines, each at its costliest, one block handles.
	pub static DeadlinesPerBlock: u32 = 4;
	/// Room for [`DeadlinesPerBlock`] missed deadlines.
	pub DeadlineWeight: Weight = Inference::deadline_weight_for(DeadlinesPerBlock::get());
}

/// Every funded account.
pub fn funded() -> Vec<AccountId> {
	let mut accounts = vec![OWNER, CO_AUTHOR, REQUESTER, 4, 5];
	accounts.extend(WORKER..WORKER + WORKERS);
	accounts
}

/// Externalities with every account of [`funded`] holding [`INITIAL_BALANCE`] and the
/// treasury and pot accounts existing.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("builds");
	let mut balances: Vec<(AccountId, Balance)> =
		funded().into_iter().map(|who| (who, INITIAL_BALANCE)).collect();
	balances.push((TREASURY, 1));
	balances.push((VALIDATOR_POT, 1));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` with the model published and `workers` workers registered, then checks every
/// pallet's invariants.
pub fn run_with(workers: u64, test: impl FnOnce(ModelId)) {
	new_test_ext().execute_with(|| {
		let model = publish_model();
		for who in WORKER..WORKER + workers {
			register_worker(who);
		}
		test(model);
		check_invariants();
	});
}

/// [`run_with`] three workers.
pub fn run(test: impl FnOnce(ModelId)) {
	run_with(3, test)
}

/// Checks the invariants of the registry, verification and inference pallets.
pub fn check_invariants() {
	pallet_model_registry::Pallet::<Test>::do_try_state().expect("registry invariants");
	pallet_verification::Pallet::<Test>::do_try_state().expect("verification invariants");
	Inference::do_try_state().expect("inference invariants");
}

/// The test model's schema: `x` f32 [N] in, `y` f32 [N] out.
pub fn schema() -> IoSchema {
	let spec = |name: &str| {
		TensorSpec::new(name.as_bytes(), DType::F32, &[Dim::Dynamic]).expect("valid spec")
	};
	IoSchema {
		inputs: vec![spec("x")].try_into().expect("fits"),
		outputs: vec![spec("y")].try_into().expect("fits"),
	}
}

/// Publishes the test model: price [`PRICE`], 70% to OWNER and 30% to CO_AUTHOR, outputs
/// rounded to 16 mantissa bits. Every active worker declares it ready.
pub fn publish_model() -> ModelId {
	let model = pallet_model_registry::testing::publish::<Test>(
		OWNER,
		PRICE,
		vec![(OWNER, Permill::from_percent(70)), (CO_AUTHOR, Permill::from_percent(30))],
		None,
		schema(),
		16,
	)
	.expect("publishes");
	for worker in pallet_verification::ActiveWorkers::<Test>::get() {
		declare_ready(worker, model);
	}
	model
}

/// `worker` declares the current version of `model` ready.
pub fn declare_ready(worker: AccountId, model: ModelId) {
	let version = pallet_model_registry::Models::<Test>::get(model).expect("published").version;
	pallet_verification::Pallet::<Test>::declare_ready(
		RuntimeOrigin::signed(worker),
		model,
		version,
	)
	.expect("declares");
}

/// The attestation key of `worker`.
pub fn key_of(worker: AccountId) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[worker as u8; 32])
}

/// Registers `who` as a worker with bond [`BOND`] and capacity 8, ready for every model.
pub fn register_worker(who: AccountId) {
	let meta = pallet_verification::WorkerMeta::<Test> {
		runtime: frame_support::BoundedVec::truncate_from(b"onnxruntime 1.31.1".to_vec()),
		capacity: 8,
		profile: Default::default(),
	};
	pallet_verification::Pallet::<Test>::register_worker(
		RuntimeOrigin::signed(who),
		BOND,
		key_of(who).public().0,
		meta,
	)
	.expect("registers");
	for model in pallet_model_registry::Models::<Test>::iter_keys() {
		declare_ready(who, model);
	}
}

/// A canonical tensor set with one f32 tensor `name` holding `values`.
pub fn tensors(name: &str, values: &[f32]) -> Vec<u8> {
	let tensor = Tensor {
		name: name.as_bytes().to_vec(),
		dtype: DType::F32,
		shape: vec![values.len() as u64],
		data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
	};
	let limits = Limits::default();
	codec::Encode::encode(&TensorSet::new(vec![tensor], &limits).expect("valid set"))
}

/// The input every test sends.
pub fn input() -> Vec<u8> {
	tensors("x", &[1.0, 2.0, 3.0])
}

/// An output; `variant` changes its values.
pub fn output(variant: u8) -> Vec<u8> {
	tensors("y", &[0.5, 1.5 + f32::from(variant)])
}

/// The fee of a call with [`input`] at `redundancy`: the price, the execution fee and the most
/// the chain fee can be.
pub fn fee(redundancy: u32) -> Balance {
	PRICE
		+ (BASE_FEE + PER_BYTE * input().len() as Balance) * Balance::from(redundancy)
		+ Inference::max_chain_fee(redundancy)
}

/// `worker`'s attestation signature for `output` in `request`.
pub fn sign(request: u64, worker: AccountId, output: &[u8]) -> [u8; 64] {
	let stored = crate::Requests::<Test>::get(request).expect("running request");
	let hash = sp_io::hashing::blake2_256(output);
	let message = Inference::attestation(request, &stored, &worker, hash).message();
	key_of(worker).sign(&message).0
}

/// The salt `worker` uses.
pub fn salt(worker: AccountId) -> [u8; 32] {
	[worker as u8 ^ 0xa5; 32]
}

/// `worker`'s commitment to `output` in `request`.
pub fn commitment(request: u64, worker: AccountId, output: &[u8]) -> [u8; 32] {
	result_commitment(request, &sp_io::hashing::blake2_256(output), &salt(worker), &worker)
}

/// Advances to block `n`, running each block's `on_initialize` and `on_idle`.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Inference::on_initialize(next);
		Inference::on_idle(next, Weight::MAX);
	}
}
