//! The runtime APIs the node and clients call into.

use alloc::vec::Vec;
use frame_support::{
	genesis_builder_helper::{build_state, get_preset},
	weights::Weight,
};
use modelhub_primitives::{
	api::{
		ExtrinsicError, ExtrinsicOutcome, FastWorker, FeeQuote, InferenceResult, MarketStats,
		ModelOrder, ModelSummary, ModelUsageStats, RequestCheck, RequestEnd, RequestError,
		RequestStatus, StatsWindow, WorkerSummary,
	},
	inference::RequestId,
	registry::ModelId,
};
use pallet_grandpa::AuthorityId as GrandpaId;
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
	traits::{Block as BlockT, NumberFor},
	transaction_validity::{TransactionSource, TransactionValidity},
	ApplyExtrinsicResult,
};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Block, BlockNumber, Executive, Grandpa, InherentDataExt, Nonce,
	Runtime, RuntimeCall, RuntimeEvent, RuntimeGenesisConfig, SessionKeys, System,
	TransactionPayment, VERSION,
};

impl_runtime_apis! {
	impl sp_api::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: <Block as BlockT>::LazyBlock) {
			Executive::execute_block(block);
		}

		fn initialize_block(header: &<Block as BlockT>::Header) -> sp_runtime::ExtrinsicInclusionMode {
			Executive::initialize_block(header)
		}
	}

	impl sp_api::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl frame_support::view_functions::runtime_api::RuntimeViewFunction<Block> for Runtime {
		fn execute_view_function(
			id: frame_support::view_functions::ViewFunctionId,
			input: Vec<u8>,
		) -> Result<Vec<u8>, frame_support::view_functions::ViewFunctionDispatchError> {
			Runtime::execute_view_function(id, input)
		}
	}

	impl sp_block_builder::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
			Executive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> <Block as BlockT>::Header {
			Executive::finalize_block()
		}

		fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
			data.create_extrinsics()
		}

		fn check_inherents(
			block: <Block as BlockT>::LazyBlock,
			data: sp_inherents::InherentData,
		) -> sp_inherents::CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: <Block as BlockT>::Extrinsic,
			block_hash: <Block as BlockT>::Hash,
		) -> TransactionValidity {
			Executive::validate_transaction(source, tx, block_hash)
		}
	}

	impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &<Block as BlockT>::Header) {
			Executive::offchain_worker(header)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl sp_session::SessionKeys<Block> for Runtime {
		fn generate_session_keys(
			owner: Vec<u8>,
			seed: Option<Vec<u8>>,
		) -> sp_session::OpaqueGeneratedSessionKeys {
			SessionKeys::generate(&owner, seed).into()
		}

		fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
			SessionKeys::decode_into_raw_public_keys(&encoded)
		}
	}

	impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
		fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
			Grandpa::grandpa_authorities()
		}

		fn current_set_id() -> sp_consensus_grandpa::SetId {
			Grandpa::current_set_id()
		}

		fn submit_report_equivocation_unsigned_extrinsic(
			equivocation_proof: sp_consensus_grandpa::EquivocationProof<
				<Block as BlockT>::Hash,
				NumberFor<Block>,
			>,
			key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
		) -> Option<()> {
			let key_owner_proof = key_owner_proof.decode()?;
			Grandpa::submit_unsigned_equivocation_report(equivocation_proof, key_owner_proof)
		}

		fn generate_key_ownership_proof(
			_set_id: sp_consensus_grandpa::SetId,
			authority_id: GrandpaId,
		) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
			use codec::Encode;
			use frame_support::traits::KeyOwnerProofSystem;
			crate::Historical::prove((sp_consensus_grandpa::KEY_TYPE, authority_id))
				.map(|proof| proof.encode())
				.map(sp_consensus_grandpa::OpaqueKeyOwnershipProof::new)
		}
	}

	impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
		fn account_nonce(account: AccountId) -> Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
		fn query_info(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_info(uxt, len)
		}
		fn query_fee_details(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
		for Runtime
	{
		fn query_call_info(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_call_info(call, len)
		}
		fn query_call_fee_details(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_call_fee_details(call, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	impl frame_benchmarking::Benchmark<Block> for Runtime {
		fn benchmark_metadata(extra: bool) -> (
			Vec<frame_benchmarking::BenchmarkList>,
			Vec<frame_support::traits::StorageInfo>,
		) {
			use frame_benchmarking::{baseline, BenchmarkList};
			use frame_support::traits::StorageInfoTrait;
			use frame_system_benchmarking::Pallet as SystemBench;
			use frame_system_benchmarking::extensions::Pallet as SystemExtensionsBench;
			use baseline::Pallet as BaselineBench;
			use super::*;

			let mut list = Vec::<BenchmarkList>::new();
			list_benchmarks!(list, extra);

			let storage_info = AllPalletsWithSystem::storage_info();
			(list, storage_info)
		}

		#[allow(non_local_definitions)]
		fn dispatch_benchmark(
			config: frame_benchmarking::BenchmarkConfig
		) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
			use frame_benchmarking::{baseline, BenchmarkBatch};
			use sp_storage::TrackedStorageKey;
			use frame_system_benchmarking::Pallet as SystemBench;
			use frame_system_benchmarking::extensions::Pallet as SystemExtensionsBench;
			use baseline::Pallet as BaselineBench;
			use frame_support::traits::WhitelistedStorageKeys;
			use super::*;

			impl frame_system_benchmarking::Config for Runtime {}
			impl baseline::Config for Runtime {}

			let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
			let mut batches = Vec::<BenchmarkBatch>::new();
			let params = (&config, &whitelist);
			add_benchmarks!(params, batches);
			Ok(batches)
		}
	}

	#[api_version(3)]
	impl modelhub_primitives::api::ModelHubApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn model(model: ModelId) -> Option<ModelSummary<AccountId, Balance, BlockNumber>> {
			model_hub::model(model)
		}

		fn models(
			order: ModelOrder,
			offset: u32,
			limit: u32,
		) -> Vec<ModelSummary<AccountId, Balance, BlockNumber>> {
			model_hub::models(order, offset, limit)
		}

		fn model_usage(model: ModelId, window: StatsWindow) -> Option<ModelUsageStats<Balance>> {
			model_hub::model_usage(model, window)
		}

		fn quote(
			model: ModelId,
			input_len: u32,
			redundancy: u32,
		) -> Result<FeeQuote<Balance>, RequestError> {
			model_hub::quote(model, input_len, redundancy)
		}

		fn check_request(
			who: AccountId,
			model: ModelId,
			input: Vec<u8>,
			max_fee: Balance,
			redundancy: u32,
			tx_fee: Balance,
		) -> Result<FeeQuote<Balance>, RequestError> {
			model_hub::check_request(who, model, input, max_fee, redundancy, tx_fee)
		}

		fn request(request: RequestId) -> Option<RequestStatus<AccountId, Balance, BlockNumber>> {
			model_hub::request(request)
		}

		fn result(request: RequestId) -> Option<InferenceResult<AccountId, BlockNumber>> {
			model_hub::result(request)
		}

		fn worker(worker: AccountId) -> Option<WorkerSummary<Balance, BlockNumber>> {
			model_hub::worker(worker)
		}

		fn market_stats(window: StatsWindow) -> MarketStats<Balance> {
			model_hub::market_stats(window)
		}

		fn check_request_extrinsic(
			extrinsic: Vec<u8>,
		) -> Result<RequestCheck<Balance>, ExtrinsicError> {
			model_hub::check_request_extrinsic(extrinsic)
		}

		fn extrinsic_outcome(index: u32) -> Option<ExtrinsicOutcome<AccountId, BlockNumber>> {
			model_hub::extrinsic_outcome(index)
		}

		fn requests_ended() -> Vec<RequestId> {
			model_hub::requests_ended()
		}

		fn request_end(request: RequestId) -> Option<RequestEnd<AccountId, Balance>> {
			model_hub::request_end(request)
		}

		fn fast_workers(model: ModelId) -> Vec<FastWorker<AccountId, Balance>> {
			model_hub::fast_workers(model)
		}
	}

	impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, crate::genesis_config_presets::get_preset)
		}

		fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
			crate::genesis_config_presets::preset_names()
		}
	}
}

/// What `ModelHubApi` computes, from the registry, inference and verification pallets.
pub mod model_hub {
	use super::*;
	use modelhub_primitives::{
		api::{ModelState, PendingRequest, WorkerRegistration, MAX_PAGE},
		stats::VolumeSums,
	};
	use pallet_inference::FeeParts;
	use pallet_model_registry::{ModelStatus, ModelUsage, Models};
	use sp_runtime::Perbill;

	type Inference = pallet_inference::Pallet<Runtime>;
	type ModelRegistry = pallet_model_registry::Pallet<Runtime>;

	/// A model's summary from its stored record and usage.
	fn summary(
		id: ModelId,
		model: pallet_model_registry::ModelOf<Runtime>,
	) -> ModelSummary<AccountId, Balance, BlockNumber> {
		let usage = ModelUsage::<Runtime>::get(id);
		ModelSummary {
			id,
			owner: model.owner,
			name: model.name.into_inner(),
			price: model.price,
			state: match model.status {
				ModelStatus::Active => ModelState::Active,
				ModelStatus::Paused => ModelState::Paused,
				ModelStatus::Retired => ModelState::Retired,
				ModelStatus::Delisted => ModelState::Delisted,
			},
			version: model.version,
			parent: model.parent.map(|link| link.model),
			created: model.created,
			calls: usage.calls,
			failures: usage.failures,
			revenue: usage.revenue,
			payers: usage.payers.estimate(),
			last_call: usage.last_call,
		}
	}

	/// See [`modelhub_primitives::api::ModelHubApi::model`].
	pub fn model(id: ModelId) -> Option<ModelSummary<AccountId, Balance, BlockNumber>> {
		Models::<Runtime>::get(id).map(|model| summary(id, model))
	}

	/// See [`modelhub_primitives::api::ModelHubApi::models`]. Reads `offset + limit` keys of
	/// the registry's index for `order`, and the records of the models on the page.
	pub fn models(
		order: ModelOrder,
		offset: u32,
		limit: u32,
	) -> Vec<ModelSummary<AccountId, Balance, BlockNumber>> {
		ModelRegistry::models_page(order, offset, limit.min(MAX_PAGE))
			.into_iter()
			.filter_map(|id| Models::<Runtime>::get(id).map(|model| summary(id, model)))
			.collect()
	}

	/// A fee and its split as settlement pays it.
	fn fee_quote(fee: FeeParts<Balance>) -> FeeQuote<Balance> {
		let (validators, treasury, workers) =
			pallet_verification::Pallet::<Runtime>::execution_split(fee.execution);
		FeeQuote {
			total: fee.total(),
			royalty: fee.royalty,
			execution: fee.execution,
			validators,
			treasury,
			workers,
			chain: fee.chain,
		}
	}

	/// See [`modelhub_primitives::api::ModelHubApi::quote`].
	pub fn quote(
		model: ModelId,
		input_len: u32,
		redundancy: u32,
	) -> Result<FeeQuote<Balance>, RequestError> {
		Inference::quote(model, input_len, redundancy).map(fee_quote)
	}

	/// See [`modelhub_primitives::api::ModelHubApi::check_request`].
	pub fn check_request(
		who: AccountId,
		model: ModelId,
		input: Vec<u8>,
		max_fee: Balance,
		redundancy: u32,
		tx_fee: Balance,
	) -> Result<FeeQuote<Balance>, RequestError> {
		Inference::check_request(&who, model, input, max_fee, redundancy, tx_fee)
			.map(|(fee, _)| fee_quote(fee))
	}

	/// See [`modelhub_primitives::api::ModelHubApi::request`].
	pub fn request(id: RequestId) -> Option<RequestStatus<AccountId, Balance, BlockNumber>> {
		if let Some(request) = pallet_inference::Requests::<Runtime>::get(id) {
			return Some(RequestStatus::Pending(PendingRequest {
				fee: fee_quote(request.parts()),
				requester: request.requester,
				model: request.model,
				version: request.version,
				redundancy: request.redundancy,
				input_len: request.input_len,
				phase: request.phase,
				deadline: request.deadline,
				created: request.created,
				slots: request.slots.into_iter().map(|slot| (slot.worker, slot.state)).collect(),
				replaced: request.replaced.into_inner(),
			}));
		}
		pallet_inference::Results::<Runtime>::get(id).map(|result| RequestStatus::Ended {
			requester: result.requester,
			model: result.model,
			outcome: result.outcome,
			ended_at: result.ended_at,
		})
	}

	/// See [`modelhub_primitives::api::ModelHubApi::result`].
	pub fn result(id: RequestId) -> Option<InferenceResult<AccountId, BlockNumber>> {
		pallet_inference::Results::<Runtime>::get(id).map(|result| InferenceResult {
			requester: result.requester,
			model: result.model,
			outcome: result.outcome,
			output: result.output.into_inner(),
			ended_at: result.ended_at,
		})
	}

	/// See [`modelhub_primitives::api::ModelHubApi::check_request_extrinsic`].
	pub fn check_request_extrinsic(
		bytes: Vec<u8>,
	) -> Result<RequestCheck<Balance>, ExtrinsicError> {
		use codec::DecodeAll;
		let extrinsic = crate::UncheckedExtrinsic::decode_all(&mut &bytes[..])
			.map_err(|_| ExtrinsicError::Undecodable)?;
		let (who, tip) = match &extrinsic.preamble {
			// The ninth transaction extension is `ChargeTransactionPayment`.
			sp_runtime::generic::Preamble::Signed(
				sp_runtime::MultiAddress::Id(who),
				_,
				extensions,
			) => (who.clone(), extensions.8.tip()),
			_ => return Err(ExtrinsicError::NotSigned),
		};
		let RuntimeCall::Inference(pallet_inference::Call::request_inference {
			model,
			input,
			max_fee,
			redundancy,
		}) = &extrinsic.function
		else {
			return Err(ExtrinsicError::NotARequest);
		};
		let (model, max_fee, redundancy) = (*model, *max_fee, *redundancy);
		let input = input.clone();
		let input_len = u32::try_from(input.len()).unwrap_or(u32::MAX);
		let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
		let tx_fee =
			TransactionPayment::query_info(extrinsic, length).partial_fee.saturating_add(tip);
		let verdict = check_request(who, model, input, max_fee, redundancy, tx_fee);
		Ok(RequestCheck { model, input_len, redundancy, max_fee, tx_fee, verdict })
	}

	/// This block's events, in order.
	fn events() -> impl Iterator<Item = RuntimeEvent> {
		System::read_events_no_consensus().map(|record| record.event)
	}

	/// See [`modelhub_primitives::api::ModelHubApi::extrinsic_outcome`].
	pub fn extrinsic_outcome(index: u32) -> Option<ExtrinsicOutcome<AccountId, BlockNumber>> {
		let mut applied = false;
		for record in System::read_events_no_consensus() {
			if !matches!(record.phase, frame_system::Phase::ApplyExtrinsic(at) if at == index) {
				continue;
			}
			applied = true;
			match record.event {
				RuntimeEvent::Inference(pallet_inference::Event::InferenceRequested {
					request,
					model,
					workers,
					deadline,
					..
				}) => return Some(ExtrinsicOutcome::Requested { request, model, workers, deadline }),
				RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
					dispatch_error,
					..
				}) => return Some(ExtrinsicOutcome::Failed(dispatch_error)),
				_ => {},
			}
		}
		applied.then_some(ExtrinsicOutcome::Succeeded)
	}

	/// See [`modelhub_primitives::api::ModelHubApi::requests_ended`].
	pub fn requests_ended() -> Vec<RequestId> {
		events()
			.filter_map(|event| match event {
				RuntimeEvent::Inference(pallet_inference::Event::InferenceSettled {
					request,
					..
				})
				| RuntimeEvent::Inference(pallet_inference::Event::InferenceRefunded {
					request,
					..
				}) => Some(request),
				_ => None,
			})
			.collect()
	}

	/// See [`modelhub_primitives::api::ModelHubApi::request_end`].
	pub fn request_end(id: RequestId) -> Option<RequestEnd<AccountId, Balance>> {
		let result = pallet_inference::Results::<Runtime>::get(id)?;
		events().find_map(|event| match event {
			RuntimeEvent::Inference(pallet_inference::Event::InferenceSettled {
				request,
				workers,
				payouts,
				..
			}) if request == id => Some(RequestEnd {
				outcome: result.outcome,
				output: result.output.clone().into_inner(),
				workers,
				payouts,
				refunded: 0,
			}),
			RuntimeEvent::Inference(pallet_inference::Event::InferenceRefunded {
				request,
				amount,
				..
			}) if request == id => Some(RequestEnd {
				outcome: result.outcome,
				output: Vec::new(),
				workers: Vec::new(),
				payouts: Vec::new(),
				refunded: amount,
			}),
			_ => None,
		})
	}

	/// See [`modelhub_primitives::api::ModelHubApi::fast_workers`].
	pub fn fast_workers(model: ModelId) -> Vec<FastWorker<AccountId, Balance>> {
		use modelhub_primitives::registry::ModelRegistry as _;
		use pallet_verification::{ReadyWorkers, WorkerStatus, Workers};
		let Ok(terms) = crate::ModelRegistry::call_terms(model) else { return Vec::new() };
		ReadyWorkers::<Runtime>::iter_key_prefix((model, terms.version))
			.filter_map(|worker| {
				let info = Workers::<Runtime>::get(&worker)?;
				if info.status != WorkerStatus::Active {
					return None;
				}
				let endpoint = pallet_channels::Endpoints::<Runtime>::get(&worker)?;
				Some(FastWorker {
					worker,
					endpoint: endpoint.into_inner(),
					bond: info.bond,
					capacity: info.meta.capacity,
				})
			})
			.collect()
	}

	/// See [`modelhub_primitives::api::ModelHubApi::worker`].
	pub fn worker(worker: AccountId) -> Option<WorkerSummary<Balance, BlockNumber>> {
		use pallet_verification::{WorkerStatus, WorkerUsage, Workers};
		let registration = Workers::<Runtime>::get(&worker).map(|info| WorkerRegistration {
			bond: info.bond,
			attestation_key: info.attestation_key,
			runtime: info.meta.runtime.into_inner(),
			capacity: info.meta.capacity,
			profile: info.meta.profile,
			pending_jobs: info.pending_jobs,
			registered_at: info.registered_at,
			unbonding_until: match info.status {
				WorkerStatus::Active => None,
				WorkerStatus::Unbonding { until } => Some(until),
			},
		});
		let record = WorkerUsage::<Runtime>::get(&worker);
		if registration.is_none() && record == Default::default() {
			return None;
		}
		Some(WorkerSummary {
			registration,
			jobs: record.jobs,
			earnings: record.earnings,
			slashes: record.slashes,
			slashed: record.slashed,
		})
	}

	/// See [`modelhub_primitives::api::ModelHubApi::model_usage`]. Over epochs it reads the
	/// window's listed models (bounded per epoch); all time, the registry's totals.
	pub fn model_usage(model: ModelId, window: StatsWindow) -> Option<ModelUsageStats<Balance>> {
		if !Models::<Runtime>::contains_key(model) {
			return None;
		}
		let (first_epoch, last_epoch, total, calls, royalties, more) = match window {
			StatsWindow::Epochs(epochs) => {
				let (first, last, totals, volumes) = Inference::window(epochs);
				let usage: (u64, Balance) = (first..=last)
					.map(|epoch| pallet_inference::EpochModelCalls::<Runtime>::get(epoch, model))
					.fold((0, 0), |(calls, royalties), usage| {
						(
							calls.saturating_add(usage.calls),
							royalties.saturating_add(usage.royalties),
						)
					});
				let more = volumes.values().filter(|volume| **volume > usage.0).count() as u64;
				(first, last, totals.calls, usage.0, usage.1, more)
			},
			StatsWindow::AllTime => {
				let usage = ModelUsage::<Runtime>::get(model);
				let total = ModelRegistry::market_concentration().0.calls;
				let more = ModelRegistry::models_with_more_calls(usage.calls);
				(0, Inference::current_epoch(), total, usage.calls, usage.revenue, more)
			},
		};
		let rank =
			if calls == 0 { 0 } else { u32::try_from(more).unwrap_or(u32::MAX).saturating_add(1) };
		Some(ModelUsageStats {
			first_epoch,
			last_epoch,
			calls,
			royalties,
			share: if total == 0 { Perbill::zero() } else { Perbill::from_rational(calls, total) },
			rank,
		})
	}

	/// See [`modelhub_primitives::api::ModelHubApi::market_stats`]. Concentration is over
	/// every model ever published, those without calls in the window included: over epochs,
	/// from the window's listed models (bounded per epoch) and the registry's count of models;
	/// all time, from the registry's totals.
	pub fn market_stats(window: StatsWindow) -> MarketStats<Balance> {
		match window {
			StatsWindow::Epochs(epochs) => {
				let (first_epoch, last_epoch, totals, calls) = Inference::window(epochs);
				let volumes: Vec<u64> = calls.into_values().collect();
				let models = pallet_model_registry::Market::<Runtime>::get().volume.models;
				let idle = models.saturating_sub(volumes.len() as u64);
				let mut concentration = VolumeSums::with_idle(&volumes, idle).concentration();
				concentration.calls = totals.calls;
				MarketStats {
					first_epoch,
					last_epoch,
					fees: Some(totals.fees),
					royalties: totals.royalties,
					concentration,
					unlisted_calls: totals.unlisted_calls,
				}
			},
			StatsWindow::AllTime => {
				let (concentration, royalties) = ModelRegistry::market_concentration();
				MarketStats {
					first_epoch: 0,
					last_epoch: Inference::current_epoch(),
					fees: None,
					royalties,
					concentration,
					unlisted_calls: 0,
				}
			},
		}
	}
}
