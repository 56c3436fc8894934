//! Configuration of the Model Hub's own pallets.

use frame_support::{
	dynamic_params::{dynamic_pallet_params, dynamic_params},
	parameter_types,
	traits::{AsEnsureOriginWithArg, ConstU32, EitherOf},
	PalletId,
};
use frame_system::EnsureRoot;
use modelhub_primitives::{
	currency::{MICRO_OPG, MILLI_OPG},
	time::{DAYS, MINUTES},
};
use sp_runtime::{traits::AccountIdConversion, Perbill};

#[cfg(feature = "runtime-benchmarks")]
use crate::RuntimeOrigin;
use crate::{
	AccountId, Balance, Balances, ModelRegistry, Runtime, RuntimeEvent, RuntimeHoldReason,
	Verification, OPG,
};

parameter_types! {
	/// A quarter of each block for missed deadlines, taken before any transaction: the other
	/// three quarters stay for transactions even when many deadlines fall in one block.
	pub DeadlineWeight: frame_support::weights::Weight =
		super::block_weight_share(Perbill::from_percent(25));
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
	/// Root, or a referendum of the model-moderation track.
	type ModerationOrigin = EitherOf<
		frame_system::EnsureRoot<AccountId>,
		pallet_governance_origins::EnsureModelModeration,
	>;
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
	/// A week: far longer than any request lives (phases of a minute, a few reassignments and
	/// escalations).
	type RemovalDelay = ConstU32<{ 7 * DAYS }>;
	/// An hour: a worker settles its channels' calls at a model's old price within it.
	type PriceGrace = ConstU32<{ 60 * MINUTES }>;
	type WeightInfo = pallet_model_registry::weights::SubstrateWeight<Runtime>;
}

/// Protocol parameters that root (later governance) changes at runtime through
/// `pallet-parameters`, each with its default.
#[dynamic_params(RuntimeParameters, pallet_parameters::Parameters::<Runtime>)]
pub mod dynamic_params {
	use super::*;

	/// Fees and shares of paid inference, and worker bonds.
	#[dynamic_pallet_params]
	#[codec(index = 0)]
	pub mod inference {
		/// Execution fee per worker, before the per-byte part: 0.01 OPG.
		#[codec(index = 0)]
		pub static BaseExecutionFee: Balance = 10 * MILLI_OPG;

		/// Execution fee per worker per input byte: 1 µOPG.
		#[codec(index = 1)]
		pub static ExecutionFeePerByte: Balance = MICRO_OPG;

		/// Part of each execution fee paid to the validators' reward pot.
		#[codec(index = 2)]
		pub static ValidatorShare: Perbill = Perbill::from_percent(10);

		/// Part of each execution fee paid to the treasury.
		#[codec(index = 3)]
		pub static TreasuryShare: Perbill = Perbill::from_percent(5);

		/// Smallest worker bond: 100 OPG.
		#[codec(index = 4)]
		pub static MinWorkerBond: Balance = 100 * OPG;

		/// Part of a worker's bond one slash takes.
		#[codec(index = 5)]
		pub static SlashFraction: Perbill = Perbill::from_percent(10);
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl Default for RuntimeParameters {
	fn default() -> Self {
		RuntimeParameters::Inference(dynamic_params::inference::Parameters::BaseExecutionFee(
			dynamic_params::inference::BaseExecutionFee,
			Some(10 * MILLI_OPG),
		))
	}
}

impl pallet_parameters::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeParameters = RuntimeParameters;
	/// Root, or a referendum of the protocol-parameters track.
	type AdminOrigin = AsEnsureOriginWithArg<
		EitherOf<EnsureRoot<AccountId>, pallet_governance_origins::EnsureProtocolParameters>,
	>;
	/// The pallet's own weights, measured on polkadot-sdk's reference machine.
	type WeightInfo = ();
}

parameter_types! {
	/// The treasury's account (the one `pallet-treasury` derives from `py/trsry`).
	pub TreasuryAccount: AccountId = PalletId(*b"py/trsry").into_account_truncating();
	/// The account of the validators' reward pot.
	pub ValidatorPotAccount: AccountId = PalletId(*b"opg/vpot").into_account_truncating();
}

impl pallet_verification::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Registry = ModelRegistry;
	type MinBond = dynamic_params::inference::MinWorkerBond;
	type SlashFraction = dynamic_params::inference::SlashFraction;
	type ValidatorShare = dynamic_params::inference::ValidatorShare;
	type TreasuryShare = dynamic_params::inference::TreasuryShare;
	type ValidatorPotAccount = ValidatorPotAccount;
	type TreasuryAccount = TreasuryAccount;
	/// A day; a worker with pending jobs cannot start unbonding at all.
	type UnbondingPeriod = ConstU32<DAYS>;
	type MaxWorkers = ConstU32<256>;
	type MaxRuntimeLen = ConstU32<64>;
	type MaxReadyModels = ConstU32<32>;
	type WeightInfo = pallet_verification::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = benchmark_helper::InferenceSetup;
}

impl pallet_inference::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Registry = ModelRegistry;
	type Verifier = Verification;
	type BaseExecutionFee = dynamic_params::inference::BaseExecutionFee;
	type ExecutionFeePerByte = dynamic_params::inference::ExecutionFeePerByte;
	/// The chain fee is what the results' transactions would pay: the transaction fee's weight
	/// conversion and per-byte rate, to the validators' pot.
	type WeightToFee = super::fees::WeightToFee;
	type OutputFeePerByte = super::TransactionByteFee;
	type ChainFeeBeneficiary = ValidatorPotAccount;
	type MaxRedundancy = ConstU32<5>;
	/// 1 MiB: a 224×224 RGB image in f32 is 588 KiB.
	type MaxInputLen = ConstU32<{ 1024 * 1024 }>;
	type MaxOutputLen = ConstU32<{ 64 * 1024 }>;
	/// Every f32 output that fits `MaxOutputLen` is compared under its model's tolerance.
	type MaxComparedElements = ConstU32<{ 16 * 1024 }>;
	type MaxReassignments = ConstU32<3>;
	/// One minute for each phase.
	type ResultTimeout = ConstU32<MINUTES>;
	type CommitTimeout = ConstU32<MINUTES>;
	type RevealTimeout = ConstU32<MINUTES>;
	type ResultRetention = ConstU32<DAYS>;
	type DeadlineWeight = DeadlineWeight;
	type EpochLength = ConstU32<DAYS>;
	type EpochsKept = ConstU32<30>;
	/// A fast-path receipt may be disputed for a day after the block it names.
	type DisputeWindow = ConstU32<DAYS>;
	type MaxModelsPerEpoch = ConstU32<1024>;
	type WeightInfo = pallet_inference::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = benchmark_helper::InferenceSetup;
}

parameter_types! {
	/// The smallest channel deposit: 1 OPG, a hundred calls' execution fees.
	pub const MinChannelDeposit: Balance = OPG;
}

impl pallet_channels::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type OffchainSignature = modelhub_primitives::Signature;
	type OffchainPublic = <modelhub_primitives::Signature as sp_runtime::traits::Verify>::Signer;
	type Registry = ModelRegistry;
	type Verifier = Verification;
	type Ledger = crate::Inference;
	type MinExecutionFee = dynamic_params::inference::BaseExecutionFee;
	type MinDeposit = MinChannelDeposit;
	/// Thirty days.
	type MaxLifetime = ConstU32<{ 30 * DAYS }>;
	/// An hour for the worker to settle after a close or expiry.
	type ChallengePeriod = ConstU32<{ 60 * MINUTES }>;
	type MaxCallsPerSettlement = ConstU32<4096>;
	type MaxEndpointLen = ConstU32<256>;
	type WeightInfo = pallet_channels::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = benchmark_helper::InferenceSetup;
}

/// Models and workers for the inference benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub mod benchmark_helper {
	use super::*;
	use alloc::{format, vec::Vec};
	use frame_support::traits::fungible::Mutate;
	use modelhub_primitives::{
		registry::ModelId,
		schema::{Dim, IoSchema, TensorSpec},
		tensor::DType,
	};
	use pallet_model_registry::ParentLink;
	use sp_core::{crypto::KeyTypeId, sr25519};
	use sp_runtime::traits::IdentifyAccount;
	use sp_runtime::Permill;

	/// Key type of the benchmark workers' attestation keys.
	const KEY_TYPE: KeyTypeId = KeyTypeId(*b"opgw");

	/// Sets up inference benchmarks.
	pub struct InferenceSetup;

	fn schema() -> IoSchema {
		let spec = |name: &[u8]| TensorSpec::new(name, DType::F32, &[Dim::Dynamic]);
		IoSchema {
			inputs: spec(b"x").into_iter().collect::<Vec<_>>().try_into().unwrap_or_default(),
			outputs: spec(b"y").into_iter().collect::<Vec<_>>().try_into().unwrap_or_default(),
		}
	}

	fn account(name: &'static str, index: u32) -> AccountId {
		frame_benchmarking::account(name, index, 0)
	}

	impl pallet_verification::BenchmarkHelper<AccountId> for InferenceSetup {
		fn publish_model(
			_owner: &AccountId,
		) -> (ModelId, modelhub_primitives::registry::ModelVersion) {
			// A publisher per model, so no owner reaches its model limit.
			let publisher =
				account("publisher", pallet_model_registry::NextModelId::<Runtime>::get() as u32);
			let model =
				<Self as pallet_inference::BenchmarkHelper<AccountId, Balance>>::publish_model(
					&publisher, 1,
				);
			(model, 1)
		}
	}

	impl pallet_inference::BenchmarkHelper<AccountId, Balance> for InferenceSetup {
		fn publish_model(owner: &AccountId, recipients: u32) -> ModelId {
			// Up to 16 beneficiaries per level, as many levels as `recipients` needs (a
			// lineage of at most 9), each level passing half of what reaches it upwards.
			let levels = recipients.div_ceil(16).clamp(1, 9);
			let mut parent = None;
			let mut model = 0;
			let mut named = 0u32;
			for level in 0..levels {
				let count = recipients.saturating_sub(named).clamp(1, 16);
				let mut royalties = (0..count)
					.map(|i| {
						(account("beneficiary", named + i), Permill::from_rational(1u32, count))
					})
					.collect::<Vec<_>>();
				named += count;
				let assigned: u32 = royalties.iter().map(|(_, share)| share.deconstruct()).sum();
				if let Some((_, first)) = royalties.first_mut() {
					*first = Permill::from_parts(first.deconstruct() + 1_000_000 - assigned);
				}
				let publisher =
					if level + 1 == levels { owner.clone() } else { account("creator", level) };
				Self::fund(&publisher, 1_000 * OPG);
				model = pallet_model_registry::testing::publish::<Runtime>(
					publisher,
					1_000 * OPG,
					royalties,
					parent,
					schema(),
					16,
				)
				.unwrap_or_default();
				parent = Some(ParentLink { model, share: Permill::from_percent(50) });
			}
			model
		}

		fn register_workers(model: ModelId, count: u32, pool: u32) -> Vec<AccountId> {
			let version =
				pallet_model_registry::Models::<Runtime>::get(model).map_or(1, |info| info.version);
			let mut workers = Vec::new();
			for index in 0..pool.max(count) {
				let worker = account("worker", index);
				let seed = format!("//opg-worker-{index}").into_bytes();
				let key = sp_io::crypto::sr25519_generate(KEY_TYPE, Some(seed));
				Self::fund(&worker, 1_000 * OPG);
				let meta = pallet_verification::WorkerMeta::<Runtime> {
					runtime: Default::default(),
					capacity: 1_000,
					profile: Default::default(),
				};
				let _ = Verification::register_worker(
					RuntimeOrigin::signed(worker.clone()),
					100 * OPG,
					key.0,
					meta,
				);
				let _ = Verification::declare_ready(
					RuntimeOrigin::signed(worker.clone()),
					model,
					version,
				);
				if index < count {
					workers.push(worker);
				}
			}
			workers
		}

		fn sign(worker: &AccountId, message: &[u8]) -> [u8; 64] {
			let Some(info) = pallet_verification::Workers::<Runtime>::get(worker) else {
				return [0; 64];
			};
			let public = sr25519::Public::from_raw(info.attestation_key);
			sp_io::crypto::sr25519_sign(KEY_TYPE, &public, message).map_or([0; 64], |s| s.0)
		}

		fn fund(who: &AccountId, amount: Balance) {
			let _ = Balances::set_balance(who, amount);
		}
	}

	/// Key type of the benchmark payers' account keys.
	const PAYER_KEY_TYPE: KeyTypeId = KeyTypeId(*b"opgp");

	impl pallet_channels::BenchmarkHelper<AccountId, Balance, modelhub_primitives::Signature>
		for InferenceSetup
	{
		fn worker() -> AccountId {
			let model = pallet_model_registry::NextModelId::<Runtime>::get();
			let owner = account("publisher", model as u32);
			let model =
				<Self as pallet_inference::BenchmarkHelper<AccountId, Balance>>::publish_model(
					&owner, 1,
				);
			<Self as pallet_inference::BenchmarkHelper<AccountId, Balance>>::register_workers(
				model, 1, 1,
			)
			.pop()
			.unwrap_or_else(|| account("worker", 0))
		}

		fn publish_model(owner: &AccountId, recipients: u32, price: Balance) -> ModelId {
			// A publisher per model, so no owner reaches its model limit.
			let _ = owner;
			let publisher =
				account("publisher", pallet_model_registry::NextModelId::<Runtime>::get() as u32);
			let model =
				<Self as pallet_inference::BenchmarkHelper<AccountId, Balance>>::publish_model(
					&publisher, recipients,
				);
			let _ = ModelRegistry::set_price(RuntimeOrigin::signed(publisher), model, price);
			model
		}

		fn payer() -> AccountId {
			let public = sp_io::crypto::sr25519_generate(PAYER_KEY_TYPE, None);
			let public = sp_io::crypto::sr25519_public_keys(PAYER_KEY_TYPE)
				.first()
				.copied()
				.unwrap_or(public);
			sp_runtime::MultiSigner::from(public).into_account()
		}

		fn sign(payer: &AccountId, message: &[u8]) -> modelhub_primitives::Signature {
			let public = sr25519::Public::from_raw(*payer.as_ref());
			sp_io::crypto::sr25519_sign(PAYER_KEY_TYPE, &public, message)
				.map(modelhub_primitives::Signature::from)
				.unwrap_or_else(|| sr25519::Signature::from_raw([0; 64]).into())
		}

		fn fund(who: &AccountId, amount: Balance) {
			let _ = Balances::set_balance(who, amount);
		}
	}
}
