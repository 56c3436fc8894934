//! The life of a request: admission, submissions, deadlines, settlement, refunds, pruning
//! and the per-epoch usage record; and the pallet's invariants.

use crate::{pallet::*, types::*, WeightInfo};
use alloc::{collections::BTreeMap, vec::Vec};
use frame_support::{
	pallet_prelude::*,
	storage::with_storage_layer,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
	weights::WeightToFee,
};
use frame_system::pallet_prelude::BlockNumberFor;
use modelhub_primitives::{
	agreement::{element_count, verdict, Agreement, Closeness, Tolerance},
	api::RequestError,
	channel::FastAttestation,
	inference::{result_commitment, Attestation, CallLedger, FailureReason, RequestId, Verifier},
	registry::{credit, CallTerms, ModelId, ModelRegistry, ModelVersion, Unavailable},
	tensor::{Limits, TensorSet, MAX_TENSORS},
};
use sp_runtime::traits::{CheckedDiv, One, Saturating, UniqueSaturatedInto, Zero};

/// The worker a court request judges, with what it attested to and what the disputed call paid.
pub(crate) struct Accused<T: Config> {
	worker: T::AccountId,
	artifact_hash: [u8; 32],
	output_hash: [u8; 32],
	output: OutputOf<T>,
	disputed_fee: BalanceOf<T>,
}

/// Most window ends whose disputed receipts one block prunes.
const DISPUTE_PRUNE_BLOCKS: u32 = 8;

impl<T: Config> Pallet<T> {
	/// The most payouts one settlement makes: every royalty recipient a lineage can have, the
	/// validators' pot, the treasury, the chain fee's beneficiary and every worker.
	pub fn max_payouts() -> u32 {
		T::Registry::max_royalty_recipients()
			.saturating_add(3)
			.saturating_add(T::MaxRedundancy::get())
	}

	/// The most output elements one conclusion compares: every pair of distinct outputs of the
	/// largest redundancy, each up to [`Config::MaxComparedElements`].
	pub fn max_compared_elements() -> u64 {
		let outputs = u64::from(T::MaxRedundancy::get());
		outputs
			.saturating_mul(outputs.saturating_sub(1))
			.saturating_div(2)
			.saturating_mul(u64::from(T::MaxComparedElements::get()))
	}

	/// The most one missed deadline can cost: expiring the request, then settling it with every
	/// payout after comparing the most output elements, or escalating it.
	pub fn max_expiry_weight() -> Weight {
		T::WeightInfo::expire_requests(1)
			.saturating_sub(T::WeightInfo::expire_requests(0))
			.saturating_add(Self::max_conclusion_weight())
	}

	/// The most concluding a redundant request can cost: comparing the most output elements,
	/// then settling with every payout or drawing more workers.
	pub fn max_conclusion_weight() -> Weight {
		Self::comparison_weight(Self::max_compared_elements())
			.saturating_add(Self::settle_weight(Self::max_payouts()).max(Self::escalation_weight()))
	}

	/// Settling with `payouts` payouts, the epoch's list included: on top of the measured
	/// settlement, a call may move its model in [`EpochStandings`] or replace the lowest-standing
	/// model (one lookup of the lowest, at most four more writes).
	pub fn settle_weight(payouts: u32) -> Weight {
		T::WeightInfo::settle(payouts).saturating_add(T::DbWeight::get().reads_writes(2, 4))
	}

	/// A [`Config::DeadlineWeight`] that handles `count` missed deadlines per block whatever
	/// each costs.
	pub fn deadline_weight_for(count: u32) -> Weight {
		Self::max_expiry_weight()
			.saturating_add(Self::deadline_lookup())
			.saturating_mul(u64::from(count))
			.saturating_add(Self::deadline_overhead())
	}

	/// Finding the next deadline entry (or none) reads one key; removing it writes one.
	fn deadline_lookup() -> Weight {
		T::DbWeight::get().reads_writes(1, 1)
	}

	/// What handling deadlines costs in every block: the cursor, and the fixed part of expiries.
	fn deadline_overhead() -> Weight {
		T::DbWeight::get().reads_writes(1, 1).saturating_add(T::WeightInfo::expire_requests(0))
	}

	/// The weight of drawing and assigning up to [`Config::MaxRedundancy`] more workers from a
	/// full pool.
	pub fn escalation_weight() -> Weight {
		Self::request_weight(0, T::MaxRedundancy::get(), None)
	}

	/// The weight of comparing `elements` output elements.
	pub fn comparison_weight(elements: u64) -> Weight {
		let elements: u32 = elements.try_into().unwrap_or(u32::MAX);
		T::WeightInfo::compare_outputs(elements)
	}

	/// The execution fee of a call with `input_len` input bytes run by `redundancy` workers.
	pub fn execution_fee(input_len: u32, redundancy: u32) -> BalanceOf<T> {
		T::ExecutionFeePerByte::get()
			.saturating_mul(input_len.into())
			.saturating_add(T::BaseExecutionFee::get())
			.saturating_mul(redundancy.into())
	}

	/// The chain fee of a call whose `redundancy` workers each bring `output_len` output bytes
	/// and whose settlement makes `payouts` payouts: what the workers' result transactions
	/// (`submit_result`, or `commit_result` and `reveal_result` each) and the settlement would
	/// cost at the transaction fee's rates, [`Config::WeightToFee`] of their weight and
	/// [`Config::OutputFeePerByte`] per output byte. The workers send them free; the
	/// requester pays this instead.
	pub fn chain_fee(output_len: u32, redundancy: u32, payouts: u32) -> BalanceOf<T> {
		let results = if redundancy <= 1 {
			T::WeightInfo::submit_result(output_len)
		} else {
			T::WeightInfo::commit_result()
				.saturating_add(T::WeightInfo::reveal_result(output_len, redundancy))
				.saturating_mul(u64::from(redundancy))
		};
		let weight = results.saturating_add(Self::settle_weight(payouts));
		let bytes = BalanceOf::<T>::from(output_len).saturating_mul(redundancy.into());
		T::WeightToFee::weight_to_fee(&weight)
			.saturating_add(T::OutputFeePerByte::get().saturating_mul(bytes))
	}

	/// The most [`Pallet::chain_fee`] a call with `redundancy` workers can cost: outputs of
	/// [`Config::MaxOutputLen`] bytes and every payout a settlement can make. It is held with
	/// the fee; settlement charges the chain fee of the output and payouts it made and returns
	/// the rest to the requester.
	pub fn max_chain_fee(redundancy: u32) -> BalanceOf<T> {
		Self::chain_fee(T::MaxOutputLen::get(), redundancy, Self::max_payouts())
	}

	/// The call terms of `model` and the fee of calling it on `input_len` bytes with
	/// `redundancy` workers, refused for the reasons `request_inference` refuses them before
	/// it reads the input.
	fn terms(
		model: ModelId,
		input_len: u32,
		redundancy: u32,
	) -> Result<(CallTerms<BalanceOf<T>>, FeeOf<T>), RequestError> {
		if !(1..=T::MaxRedundancy::get()).contains(&redundancy) {
			return Err(RequestError::InvalidRedundancy);
		}
		if input_len > T::MaxInputLen::get() {
			return Err(RequestError::InputTooLarge);
		}
		let terms = T::Registry::call_terms(model).map_err(|reason| match reason {
			Unavailable::NotFound => RequestError::ModelNotFound,
			_ => RequestError::ModelNotActive,
		})?;
		let fee = FeeParts {
			royalty: terms.price,
			execution: Self::execution_fee(input_len, redundancy),
			chain: Self::max_chain_fee(redundancy),
		};
		Ok((terms, fee))
	}

	/// The parts of the fee of calling `model` on `input_len` bytes with `redundancy`
	/// workers, refused for the reasons `request_inference` refuses them before it reads the
	/// input.
	pub fn quote(
		model: ModelId,
		input_len: u32,
		redundancy: u32,
	) -> Result<FeeOf<T>, RequestError> {
		Self::terms(model, input_len, redundancy).map(|(_, fee)| fee)
	}

	/// Checks a request against everything but the state of workers and of the requester's
	/// balance: redundancy, the model, the input and `max_fee`. Returns the bounded input, the
	/// model's terms and the fee.
	fn admit(
		model: ModelId,
		input: Vec<u8>,
		max_fee: BalanceOf<T>,
		redundancy: u32,
	) -> Result<Admitted<T>, RequestError> {
		let input_len = u32::try_from(input.len()).unwrap_or(u32::MAX);
		let (terms, fee) = Self::terms(model, input_len, redundancy)?;
		let input: InputOf<T> = input.try_into().map_err(|_| RequestError::InputTooLarge)?;
		let limits = Limits { max_tensors: MAX_TENSORS, max_data_bytes: input.len() as u64 };
		let set = TensorSet::decode_canonical(&input, &limits)
			.map_err(|_| RequestError::InputNotCanonical)?;
		terms.schema.check_inputs(&set).map_err(|_| RequestError::InputDoesNotFitSchema)?;
		ensure!(fee.total() <= max_fee, RequestError::FeeAboveMax);
		Ok((input, terms, fee))
	}

	/// Whether `who` could make this request now, after paying `tx_fee` for the transaction:
	/// every check of [`Pallet::request_inference`], in its order, without changing anything,
	/// except that a request waiting only for busy workers
	/// ([`RequestError::WorkersBusy`]) is checked for the requester's balance too. Returns the
	/// parts of the fee and how many workers the draw read (those holding the model ready).
	pub fn check_request(
		who: &T::AccountId,
		model: ModelId,
		input: Vec<u8>,
		max_fee: BalanceOf<T>,
		redundancy: u32,
		tx_fee: BalanceOf<T>,
	) -> Result<(FeeOf<T>, u32), RequestError> {
		let (_, terms, fee) = Self::admit(model, input, max_fee, redundancy)?;
		let drawn = Self::draw(NextRequestId::<T>::get(), model, terms.version, redundancy, &[]);
		if let Err(error) = drawn {
			ensure!(error == RequestError::WorkersBusy, error);
		}
		let needed = fee.total().saturating_add(tx_fee);
		ensure!(
			T::Currency::can_hold(&HoldReason::Escrow.into(), who, needed),
			RequestError::InsufficientBalance
		);
		drawn.map(|(_, ready)| (fee, ready))
	}

	/// Totals and per-model settled calls of the `epochs` most recent epochs, the current one
	/// included (at most [`Config::EpochsKept`]): `(first epoch, last epoch, totals, calls per
	/// listed model)`.
	pub fn window(
		epochs: u32,
	) -> (EpochIndex, EpochIndex, EpochTotals<BalanceOf<T>>, BTreeMap<ModelId, u64>) {
		let last = Self::current_epoch();
		let span = epochs.clamp(1, T::EpochsKept::get().max(1));
		let first = last.saturating_sub(span.saturating_sub(1));
		let mut totals = EpochTotals::<BalanceOf<T>>::default();
		let mut calls = BTreeMap::new();
		for epoch in first..=last {
			let epoch_totals = Epochs::<T>::get(epoch);
			totals.calls = totals.calls.saturating_add(epoch_totals.calls);
			totals.fees = totals.fees.saturating_add(epoch_totals.fees);
			totals.royalties = totals.royalties.saturating_add(epoch_totals.royalties);
			totals.unlisted_calls =
				totals.unlisted_calls.saturating_add(epoch_totals.unlisted_calls);
			for (model, usage) in EpochModelCalls::<T>::iter_prefix(epoch) {
				let entry: &mut u64 = calls.entry(model).or_default();
				*entry = entry.saturating_add(usage.calls);
			}
		}
		totals.models = calls.len() as u32;
		(first, last, totals, calls)
	}

	/// Draws the `redundancy` workers of request `id` among those ready for `version` of
	/// `model`, leaving out `exclude`: [`RequestError::NoReadyWorker`] if none holds it ready,
	/// [`RequestError::NotEnoughWorkers`] if fewer than `redundancy` do,
	/// [`RequestError::WorkersBusy`] if too few of them are free now. Returns the workers and
	/// how many hold the version ready (what the draw scanned, for the weight).
	fn draw(
		id: RequestId,
		model: ModelId,
		version: ModelVersion,
		redundancy: u32,
		exclude: &[T::AccountId],
	) -> Result<(Vec<T::AccountId>, u32), RequestError> {
		let (workers, ready) =
			T::Verifier::select_workers(&Self::seed(id, 0), redundancy, exclude, model, version);
		// Those left out (a court's accused) are counted as holding the version ready.
		let eligible = ready.saturating_sub(exclude.len() as u32);
		ensure!(eligible > 0, RequestError::NoReadyWorker);
		ensure!(eligible >= redundancy, RequestError::NotEnoughWorkers);
		ensure!(workers.len() == redundancy as usize, RequestError::WorkersBusy);
		Ok((workers, ready))
	}

	/// The weight of a request of `input_len` bytes at `redundancy` whose draw scanned `ready`
	/// workers; [`Pallet::request_inference`] is charged for a full pool before it runs.
	pub fn request_weight(input_len: u32, redundancy: u32, ready: Option<u32>) -> Weight {
		let scanned = ready.unwrap_or_else(T::Verifier::max_workers).max(redundancy);
		T::WeightInfo::request_inference(input_len, redundancy, scanned)
	}

	/// Admits a request; see [`Pallet::request_inference`].
	pub(crate) fn do_request(
		who: T::AccountId,
		model: ModelId,
		input: Vec<u8>,
		max_fee: BalanceOf<T>,
		redundancy: u32,
	) -> Result<(RequestId, u32), DispatchError> {
		Self::open_request(who, model, input, max_fee, redundancy, None)
	}

	/// Opens a dispute's court request; see [`Pallet::dispute`]. Returns how many workers the
	/// draw read.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn do_dispute(
		who: T::AccountId,
		model: ModelId,
		receipt: FastAttestation<T::AccountId>,
		signature: [u8; 64],
		input: Vec<u8>,
		output: Vec<u8>,
		max_fee: BalanceOf<T>,
		redundancy: u32,
	) -> Result<u32, DispatchError> {
		ensure!(receipt.genesis_hash == Self::genesis_hash(), Error::<T>::ReceiptNotOfThisChain);
		let now = frame_system::Pallet::<T>::block_number();
		let served = BlockNumberFor::<T>::from(receipt.block);
		let window_end = served.saturating_add(T::DisputeWindow::get());
		ensure!(served <= now && now <= window_end, Error::<T>::DisputeWindowPassed);
		ensure!(
			sp_io::hashing::blake2_256(&input) == receipt.input_hash
				&& sp_io::hashing::blake2_256(&output) == receipt.output_hash,
			Error::<T>::ReceiptMismatch
		);
		ensure!(
			T::Verifier::verify_attestation(&receipt.worker, &receipt.message(), &signature),
			Error::<T>::InvalidAttestation
		);
		let receipt_hash = sp_io::hashing::blake2_256(&receipt.encode());
		ensure!(
			!Disputed::<T>::contains_key(window_end, receipt_hash),
			Error::<T>::ReceiptAlreadyDisputed
		);
		let output: OutputOf<T> = output.try_into().map_err(|_| Error::<T>::OutputTooLarge)?;
		// The court's redundancy counts the accused's output: a strict majority of all settles.
		ensure!(
			redundancy >= 1 && redundancy < T::MaxRedundancy::get(),
			Error::<T>::InvalidRedundancy
		);
		let input_len = u32::try_from(input.len()).unwrap_or(u32::MAX);
		let disputed = Self::quote(model, input_len, 1).map_err(Error::<T>::from)?;
		let accused = Accused {
			worker: receipt.worker.clone(),
			artifact_hash: receipt.artifact_hash,
			output_hash: receipt.output_hash,
			output,
			disputed_fee: disputed.royalty.saturating_add(disputed.execution),
		};
		let (id, ready) = Self::open_request(
			who,
			model,
			input,
			max_fee,
			redundancy.saturating_add(1),
			Some(accused),
		)?;
		Disputed::<T>::insert(window_end, receipt_hash, ());
		Self::deposit_event(Event::ReceiptDisputed {
			request: id,
			worker: receipt.worker,
			channel: receipt.channel,
			call: receipt.call,
		});
		Ok(ready)
	}

	/// The hash of the chain's genesis block, as attestations name it.
	pub fn genesis_hash() -> [u8; 32] {
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		let mut hash = [0u8; 32];
		hash.iter_mut().zip(genesis.as_ref()).for_each(|(byte, value)| *byte = *value);
		hash
	}

	/// Admits and opens a request of `redundancy` workers. With an `accused`, the request is a
	/// dispute's court: its attested output fills one slot as revealed and the others are
	/// drawn without it.
	fn open_request(
		who: T::AccountId,
		model: ModelId,
		input: Vec<u8>,
		max_fee: BalanceOf<T>,
		redundancy: u32,
		accused: Option<Accused<T>>,
	) -> Result<(RequestId, u32), DispatchError> {
		let (input, terms, parts) =
			Self::admit(model, input, max_fee, redundancy).map_err(Error::<T>::from)?;
		let input_len = input.len() as u32;
		let fee = parts.total();

		let id = NextRequestId::<T>::get();
		let (workers, ready) = match &accused {
			Some(accused) => {
				ensure!(
					accused.artifact_hash == terms.artifact_hash,
					Error::<T>::ReceiptVersionNotCurrent
				);
				let exclude = [accused.worker.clone()];
				Self::draw(id, model, terms.version, redundancy.saturating_sub(1), &exclude)
			},
			None => Self::draw(id, model, terms.version, redundancy, &[]),
		}
		.map_err(Error::<T>::from)?;
		let now = frame_system::Pallet::<T>::block_number();
		let (phase, timeout) = if redundancy == 1 {
			(Phase::Running, T::ResultTimeout::get())
		} else {
			(Phase::Commit, T::CommitTimeout::get())
		};
		let deadline = Self::schedule(id, None, now.saturating_add(timeout));
		T::Currency::hold(&HoldReason::Escrow.into(), &who, fee)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		let mut slots: Vec<_> = workers
			.iter()
			.map(|w| Slot { worker: w.clone(), state: SlotState::Assigned })
			.collect();
		for worker in &workers {
			T::Verifier::job_assigned(worker);
			Assignments::<T>::insert(worker, id, ());
		}
		if let Some(accused) = accused {
			// The accused has nothing to do, but may not leave before the court ends.
			T::Verifier::job_assigned(&accused.worker);
			slots.push(Slot {
				worker: accused.worker.clone(),
				state: SlotState::Revealed(accused.output_hash),
			});
			RevealedOutputs::<T>::insert(id, accused.output_hash, accused.output);
			Disputes::<T>::insert(
				id,
				Dispute {
					accused: accused.worker,
					output_hash: accused.output_hash,
					disputed_fee: accused.disputed_fee,
				},
			);
		}
		let request = Request::<T> {
			requester: who.clone(),
			model,
			version: terms.version,
			artifact_hash: terms.artifact_hash,
			input_hash: sp_io::hashing::blake2_256(&input),
			input_len,
			royalty: parts.royalty,
			execution: parts.execution,
			chain: parts.chain,
			redundancy,
			slots: BoundedVec::truncate_from(slots),
			replaced: BoundedVec::new(),
			phase,
			deadline,
			created: now,
		};
		Requests::<T>::insert(id, request);
		Inputs::<T>::insert(id, input);
		NextRequestId::<T>::put(id.saturating_add(1));
		Self::deposit_event(Event::InferenceRequested {
			request: id,
			model,
			requester: who,
			fee,
			workers,
			deadline,
		});
		Ok((id, ready))
	}

	/// The selection seed of draw `round` for request `id`: blake2-256 of the parent block
	/// hash, the id and the round.
	pub fn seed(id: RequestId, round: u32) -> [u8; 32] {
		let parent = frame_system::Pallet::<T>::parent_hash();
		sp_io::hashing::blake2_256(&(parent, id, round).encode())
	}

	/// Handles a redundancy-1 result; see [`Pallet::submit_result`].
	pub(crate) fn do_submit(
		who: T::AccountId,
		id: RequestId,
		output: Vec<u8>,
		signature: [u8; 64],
	) -> Result<u32, DispatchError> {
		let mut request = Requests::<T>::get(id).ok_or(Error::<T>::RequestNotFound)?;
		ensure!(request.redundancy == 1, Error::<T>::CommitRevealRequired);
		let index = Self::open_slot(&request, &who, SlotState::Assigned)?;
		let (output, output_hash) = Self::check_output(&request, output)?;
		ensure!(
			Self::attested(id, &request, &who, output_hash, &signature),
			Error::<T>::InvalidAttestation
		);
		Self::set_state(&mut request, index, SlotState::Revealed(output_hash));
		Self::deposit_event(Event::ResultSubmitted { request: id, worker: who, output_hash });
		Self::settle(id, request, &Judgement::unanimous(output_hash), output)
	}

	/// Handles a commitment; see [`Pallet::commit_result`].
	pub(crate) fn do_commit(
		who: T::AccountId,
		id: RequestId,
		commitment: [u8; 32],
	) -> DispatchResult {
		let mut request = Requests::<T>::get(id).ok_or(Error::<T>::RequestNotFound)?;
		ensure!(request.redundancy > 1, Error::<T>::SubmitResultRequired);
		ensure!(request.phase == Phase::Commit, Error::<T>::NotInCommitPhase);
		let index = match Self::open_slot(&request, &who, SlotState::Assigned) {
			Ok(index) => index,
			Err(_)
				if request.slots.iter().any(|slot| {
					slot.worker == who && matches!(slot.state, SlotState::Committed(_))
				}) =>
			{
				return Err(Error::<T>::AlreadyCommitted.into())
			},
			Err(error) => return Err(error),
		};
		Self::set_state(&mut request, index, SlotState::Committed(commitment));
		Self::deposit_event(Event::ResultCommitted { request: id, worker: who });
		Self::advance(id, request);
		Ok(())
	}

	/// Handles a reveal; see [`Pallet::reveal_result`].
	pub(crate) fn do_reveal(
		who: T::AccountId,
		id: RequestId,
		output: Vec<u8>,
		salt: [u8; 32],
		signature: [u8; 64],
	) -> Result<Ended, DispatchError> {
		let mut request = Requests::<T>::get(id).ok_or(Error::<T>::RequestNotFound)?;
		ensure!(request.redundancy > 1, Error::<T>::SubmitResultRequired);
		ensure!(request.phase == Phase::Reveal, Error::<T>::NotInRevealPhase);
		let (index, commitment) = request
			.slots
			.iter()
			.enumerate()
			.find_map(|(index, slot)| match slot.state {
				SlotState::Committed(commitment) if slot.worker == who => Some((index, commitment)),
				_ => None,
			})
			.ok_or(Error::<T>::NotCommitted)?;
		let (output, output_hash) = Self::check_output(&request, output)?;
		ensure!(
			result_commitment(id, &output_hash, &salt, &who) == commitment,
			Error::<T>::CommitmentMismatch
		);
		ensure!(
			Self::attested(id, &request, &who, output_hash, &signature),
			Error::<T>::InvalidAttestation
		);
		Self::set_state(&mut request, index, SlotState::Revealed(output_hash));
		if !RevealedOutputs::<T>::contains_key(id, output_hash) {
			RevealedOutputs::<T>::insert(id, output_hash, output);
		}
		Self::deposit_event(Event::ResultSubmitted { request: id, worker: who, output_hash });
		Ok(Self::advance(id, request))
	}

	/// Handles a failure report; see [`Pallet::report_failure`].
	pub(crate) fn do_report_failure(
		who: T::AccountId,
		id: RequestId,
		reason: FailureReason,
	) -> DispatchResult {
		let mut request = Requests::<T>::get(id).ok_or(Error::<T>::RequestNotFound)?;
		ensure!(request.phase != Phase::Reveal, Error::<T>::NotAssigned);
		let index = Self::open_slot(&request, &who, SlotState::Assigned)?;
		Self::deposit_event(Event::FailureReported { request: id, worker: who.clone(), reason });
		// A worker that cannot get or load the model does not hold it ready.
		if matches!(
			reason,
			FailureReason::ModelUnavailable
				| FailureReason::ArtifactHashMismatch
				| FailureReason::InvalidModel
		) {
			T::Verifier::not_ready(&who, request.model, request.version);
		}

		if (request.replaced.len() as u32) < T::MaxReassignments::get() {
			let exclude: Vec<T::AccountId> = request.drawn().cloned().collect();
			let round = (request.replaced.len() as u32).saturating_add(1);
			let (chosen, _) = T::Verifier::select_workers(
				&Self::seed(id, round),
				1,
				&exclude,
				request.model,
				request.version,
			);
			if let Some(next) = chosen.into_iter().next() {
				let timeout = match request.phase {
					Phase::Running => T::ResultTimeout::get(),
					_ => T::CommitTimeout::get(),
				};
				let now = frame_system::Pallet::<T>::block_number();
				request
					.replaced
					.try_push((who.clone(), reason))
					.map_err(|_| Error::<T>::NotAssigned)?;
				if let Some(slot) = request.slots.get_mut(index) {
					slot.worker = next.clone();
					slot.state = SlotState::Assigned;
				}
				let deadline = request.deadline.max(now.saturating_add(timeout));
				request.deadline = Self::schedule(id, Some(request.deadline), deadline);
				Assignments::<T>::remove(&who, id);
				Assignments::<T>::insert(&next, id, ());
				T::Verifier::job_assigned(&next);
				Self::deposit_event(Event::JobReassigned {
					request: id,
					from: who,
					to: next,
					deadline: request.deadline,
				});
				Requests::<T>::insert(id, request);
				return Ok(());
			}
		}

		Self::set_state(&mut request, index, SlotState::Failed(reason));
		match request.phase {
			Phase::Running => Self::refund(id, request, RefundReason::WorkersFailed),
			_ => {
				Self::advance(id, request);
			},
		}
		Ok(())
	}

	/// The index of `who`'s slot if it is in `state`.
	fn open_slot(
		request: &RequestOf<T>,
		who: &T::AccountId,
		state: SlotState,
	) -> Result<usize, DispatchError> {
		request
			.slots
			.iter()
			.position(|slot| &slot.worker == who && slot.state == state)
			.ok_or_else(|| Error::<T>::NotAssigned.into())
	}

	fn set_state(request: &mut RequestOf<T>, index: usize, state: SlotState) {
		if let Some(slot) = request.slots.get_mut(index) {
			slot.state = state;
		}
	}

	/// Checks an output against the request's model version and returns it bounded, with its
	/// hash.
	fn check_output(
		request: &RequestOf<T>,
		output: Vec<u8>,
	) -> Result<(OutputOf<T>, [u8; 32]), DispatchError> {
		let output: OutputOf<T> = output.try_into().map_err(|_| Error::<T>::OutputTooLarge)?;
		let terms: CallTerms<BalanceOf<T>> =
			T::Registry::version_terms(request.model, request.version)
				.ok_or(Error::<T>::ModelNotFound)?;
		let limits = Limits { max_tensors: MAX_TENSORS, max_data_bytes: output.len() as u64 };
		let set = TensorSet::decode_canonical(&output, &limits)
			.map_err(|_| Error::<T>::OutputNotCanonical)?;
		let mut rounded = set.clone();
		rounded.canonicalize_floats(terms.output_rounding_bits);
		ensure!(rounded == set, Error::<T>::OutputNotCanonical);
		terms.schema.check_outputs(&set).map_err(|_| Error::<T>::OutputDoesNotFitSchema)?;
		let hash = sp_io::hashing::blake2_256(&output);
		Ok((output, hash))
	}

	/// The attestation `worker` signs for `output_hash` in request `id`.
	pub fn attestation(
		id: RequestId,
		request: &RequestOf<T>,
		worker: &T::AccountId,
		output_hash: [u8; 32],
	) -> Attestation<T::AccountId> {
		Attestation {
			genesis_hash: Self::genesis_hash(),
			request: id,
			artifact_hash: request.artifact_hash,
			input_hash: request.input_hash,
			output_hash,
			worker: worker.clone(),
		}
	}

	fn attested(
		id: RequestId,
		request: &RequestOf<T>,
		worker: &T::AccountId,
		output_hash: [u8; 32],
		signature: &[u8; 64],
	) -> bool {
		let message = Self::attestation(id, request, worker, output_hash).message();
		T::Verifier::verify_attestation(worker, &message, signature)
	}

	/// Moves a redundant request on after a slot changed: opens reveals once nobody is left
	/// to commit, concludes once nobody is left to reveal, and refunds once a majority can no
	/// longer form. Returns the payouts made and the output elements compared if it concluded.
	fn advance(id: RequestId, mut request: RequestOf<T>) -> Ended {
		let still_in = request
			.slots
			.iter()
			.filter(|slot| !matches!(slot.state, SlotState::Failed(_) | SlotState::Absent))
			.count() as u64;
		if still_in.saturating_mul(2) <= u64::from(request.redundancy) {
			Self::refund(id, request, RefundReason::NoQuorum);
			return Ended::default();
		}
		let waiting = |state: &SlotState| match request.phase {
			Phase::Commit => *state == SlotState::Assigned,
			_ => matches!(state, SlotState::Committed(_)),
		};
		if request.slots.iter().any(|slot| waiting(&slot.state)) {
			Requests::<T>::insert(id, request);
			return Ended::default();
		}
		let committed =
			request.slots.iter().any(|slot| matches!(slot.state, SlotState::Committed(_)));
		match request.phase {
			// Nothing to reveal (the workers drawn by an escalation all dropped out): the
			// outputs already revealed are all there is.
			Phase::Commit if !committed => Self::conclude(id, request),
			Phase::Commit => {
				let now = frame_system::Pallet::<T>::block_number();
				let deadline = now.saturating_add(T::RevealTimeout::get());
				request.deadline = Self::schedule(id, Some(request.deadline), deadline);
				request.phase = Phase::Reveal;
				Requests::<T>::insert(id, request);
				Self::deposit_event(Event::RevealStarted { request: id, deadline });
				Ended::default()
			},
			_ => Self::conclude(id, request),
		}
	}

	/// Settles a request on the output its workers agree on
	/// ([`modelhub_primitives::agreement::verdict`] under the model version's agreement rule), or
	/// refunds it.
	fn conclude(id: RequestId, request: RequestOf<T>) -> Ended {
		// The distinct revealed outputs, in slot order, with how many workers revealed each.
		let mut outputs: Vec<([u8; 32], u32)> = Vec::new();
		for slot in request.slots.iter() {
			if let SlotState::Revealed(hash) = slot.state {
				match outputs.iter_mut().find(|(known, _)| *known == hash) {
					Some((_, votes)) => *votes = votes.saturating_add(1),
					None => outputs.push((hash, 1)),
				}
			}
		}
		let agreement = T::Registry::version_terms(request.model, request.version)
			.map(|terms| terms.agreement)
			.unwrap_or(Agreement { tolerance: Tolerance::EXACT, fraud_margin: 1 });
		// With more than one distinct output every output is compared at least once, so all are
		// read and decoded up front; one above the comparison bound (or not decodable) is
		// agreed on by its hash alone. A single output needs no comparison.
		let decoded: Vec<Option<TensorSet>> = if outputs.len() > 1 {
			outputs
				.iter()
				.map(|(hash, _)| {
					let bytes = RevealedOutputs::<T>::get(id, hash)?;
					let limits =
						Limits { max_tensors: MAX_TENSORS, max_data_bytes: bytes.len() as u64 };
					TensorSet::decode_canonical(&bytes, &limits).ok().filter(|set| {
						element_count(set) <= u64::from(T::MaxComparedElements::get())
					})
				})
				.collect()
		} else {
			Vec::new()
		};
		let mut compared: u64 = 0;
		let verdict = verdict(request.redundancy, &outputs, |i, j| {
			match (decoded.get(i).and_then(Option::as_ref), decoded.get(j).and_then(Option::as_ref))
			{
				(Some(a), Some(b)) => {
					compared = compared.saturating_add(element_count(a));
					agreement.compare(a, b)
				},
				_ => Closeness::Beyond,
			}
		});
		let Some(verdict) = verdict else {
			let largest = outputs.iter().map(|(_, votes)| *votes).max().unwrap_or(0);
			let escalated = Self::escalate(id, request, largest);
			return Ended { payouts: 0, compared, escalated };
		};
		let hashes = |wanted: Closeness| -> Vec<[u8; 32]> {
			outputs
				.iter()
				.zip(verdict.closeness.iter())
				.filter(|(_, closeness)| **closeness == wanted)
				.map(|((hash, _), _)| *hash)
				.collect()
		};
		let judgement = Judgement {
			output_hash: outputs
				.get(verdict.representative)
				.map(|(hash, _)| *hash)
				.unwrap_or_default(),
			agreeing: hashes(Closeness::Within),
			unpaid: hashes(Closeness::WithinMargin),
		};
		let output = RevealedOutputs::<T>::get(id, judgement.output_hash).unwrap_or_default();
		let fallback = request.clone();
		let payouts = with_storage_layer(|| Self::settle(id, request, &judgement, output))
			.unwrap_or_else(|_| {
				Self::refund(id, fallback, RefundReason::NoMajority);
				0
			});
		Ended { payouts, compared, escalated: false }
	}

	/// Draws more workers for a redundant request whose revealed outputs have no majority, so
	/// that one can form: enough that the largest group of identical outputs (`largest`
	/// workers) would hold a strict majority if every new worker joined it, within
	/// [`Config::MaxRedundancy`]. The request goes back to taking commitments, from the new
	/// workers only; the outputs already revealed stand. Refunds the request if no majority
	/// could form. Returns whether workers were drawn.
	fn escalate(id: RequestId, mut request: RequestOf<T>, largest: u32) -> bool {
		let room = T::MaxRedundancy::get().saturating_sub(request.slots.len() as u32);
		// `largest + m > (redundancy + m) / 2` for `m > redundancy - 2 * largest`.
		let needed =
			request.redundancy.saturating_sub(largest.saturating_mul(2)).saturating_add(1).max(1);
		let workers = if needed <= room {
			let exclude: Vec<T::AccountId> = request.drawn().cloned().collect();
			let round = (exclude.len() as u32).saturating_add(1);
			T::Verifier::select_workers(
				&Self::seed(id, round),
				needed,
				&exclude,
				request.model,
				request.version,
			)
			.0
		} else {
			Vec::new()
		};
		// `needed` is at least one: too few drawn includes none.
		if workers.len() as u32 != needed {
			Self::refund(id, request, RefundReason::NoMajority);
			return false;
		}
		for worker in &workers {
			// `needed` is within the room left: every push fits.
			let _ =
				request.slots.try_push(Slot { worker: worker.clone(), state: SlotState::Assigned });
			T::Verifier::job_assigned(worker);
			Assignments::<T>::insert(worker, id, ());
		}
		request.redundancy = request.slots.len() as u32;
		request.phase = Phase::Commit;
		let now = frame_system::Pallet::<T>::block_number();
		let deadline = now.saturating_add(T::CommitTimeout::get());
		request.deadline = Self::schedule(id, Some(request.deadline), deadline);
		Self::deposit_event(Event::DisagreementEscalated {
			request: id,
			workers,
			redundancy: request.redundancy,
			deadline,
		});
		Requests::<T>::insert(id, request);
		true
	}

	/// Pays the fee out to the model's beneficiaries, the protocol and the workers whose output
	/// `judgement` accepts, slashes the workers it finds beyond the fraud margin (and, when at
	/// least two workers agreed on the result, those whose failure reports it contradicts), and
	/// ends the request with the output of `judgement.output_hash`. Returns the number of
	/// payouts made.
	pub(crate) fn settle(
		id: RequestId,
		request: RequestOf<T>,
		judgement: &Judgement,
		output: OutputOf<T>,
	) -> Result<u32, DispatchError> {
		let output_hash = judgement.output_hash;
		// A court's accused is judged, not paid: its output was not made for this request.
		let dispute = Disputes::<T>::get(id);
		let accused = dispute.as_ref().map(|dispute| &dispute.accused);
		let agreeing: Vec<T::AccountId> = request
			.slots
			.iter()
			.filter(
				|slot| matches!(slot.state, SlotState::Revealed(hash) if judgement.agreeing.contains(&hash)),
			)
			.filter(|slot| Some(&slot.worker) != accused)
			.map(|slot| slot.worker.clone())
			.collect();
		let mut payouts = T::Verifier::settlement(
			request.model,
			request.royalty,
			request.execution,
			&agreeing,
			1,
		)
		.ok_or(Error::<T>::SettlementFailed)?;
		// The chain fee of the output and payouts this settlement made, within what was held.
		let output_len = u32::try_from(output.len()).unwrap_or(u32::MAX);
		let beneficiary = T::ChainFeeBeneficiary::get();
		let paid_already = payouts.iter().any(|(account, _)| *account == beneficiary);
		let count = u32::try_from(payouts.len())
			.unwrap_or(u32::MAX)
			.saturating_add(u32::from(!paid_already));
		let chain = Self::chain_fee(output_len, request.redundancy, count).min(request.chain);
		credit(&mut payouts, &beneficiary, chain);
		// A failure report is contradicted only by a verified result: one worker's output is
		// nobody's proof that the model could be run.
		let verified = agreeing.len() >= 2;
		let at_stake = request.fee();
		for slot in request.slots.iter() {
			match (slot.state, &dispute) {
				(SlotState::Revealed(hash), Some(dispute)) if slot.worker == dispute.accused => {
					Self::judge_receipt(id, &request.requester, dispute, hash, judgement, at_stake);
				},
				(SlotState::Revealed(hash), _) if judgement.unpaid.contains(&hash) => {
					Self::deposit_event(Event::WorkerUnpaid {
						request: id,
						worker: slot.worker.clone(),
						output_hash: hash,
					});
				},
				(SlotState::Revealed(hash), _) if !judgement.agreeing.contains(&hash) => {
					T::Verifier::slash(&slot.worker, id, at_stake);
				},
				(SlotState::Failed(_), _) if verified => {
					T::Verifier::slash(&slot.worker, id, at_stake);
				},
				_ => {},
			}
		}
		if verified {
			for (worker, _) in request.replaced.iter() {
				T::Verifier::slash(worker, id, at_stake);
			}
		}
		let reason = HoldReason::Escrow.into();
		for (to, amount) in payouts.iter() {
			let paid = T::Currency::transfer_on_hold(
				&reason,
				&request.requester,
				to,
				*amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Force,
			);
			if paid.is_err() {
				// Cannot be paid (e.g. a new account below the existential deposit): it
				// returns to the payer.
				let _ = T::Currency::release(
					&reason,
					&request.requester,
					*amount,
					Precision::BestEffort,
				);
			}
		}
		let _ = T::Currency::release(
			&reason,
			&request.requester,
			request.chain.saturating_sub(chain),
			Precision::BestEffort,
		);
		let paid = FeeParts { chain, ..request.parts() }.total();
		Self::note_settled_calls(request.model, &request.requester, 1, paid, request.royalty);
		let count = payouts.len() as u32;
		Self::deposit_event(Event::InferenceSettled {
			request: id,
			output_hash,
			workers: agreeing,
			payouts,
		});
		Self::end(id, request, Outcome::Settled { output_hash }, output);
		Ok(count)
	}

	/// Judges a court's accused by its attested output `hash`: beyond the fraud margin of the
	/// settled output, it is slashed at least the court's fee `at_stake` plus the disputed
	/// call's fee, and `disputer` is paid that much from the slash; otherwise the dispute is
	/// dismissed.
	fn judge_receipt(
		id: RequestId,
		disputer: &T::AccountId,
		dispute: &Dispute<T::AccountId, BalanceOf<T>>,
		hash: [u8; 32],
		judgement: &Judgement,
		at_stake: BalanceOf<T>,
	) {
		let worker = dispute.accused.clone();
		if judgement.agreeing.contains(&hash) || judgement.unpaid.contains(&hash) {
			Self::deposit_event(Event::DisputeDismissed { request: id, worker });
			return;
		}
		let owed = at_stake.saturating_add(dispute.disputed_fee);
		let (slashed, compensation) =
			T::Verifier::slash_compensating(&worker, id, owed, disputer, owed);
		Self::deposit_event(Event::DisputeUpheld { request: id, worker, slashed, compensation });
	}

	/// Returns the whole fee to the requester and ends the request.
	fn refund(id: RequestId, request: RequestOf<T>, reason: RefundReason) {
		let amount = T::Currency::release(
			&HoldReason::Escrow.into(),
			&request.requester,
			request.fee(),
			Precision::BestEffort,
		)
		.unwrap_or_else(|_| Zero::zero());
		T::Registry::note_failure(request.model);
		Self::deposit_event(Event::InferenceRefunded { request: id, amount, reason });
		Self::end(id, request, Outcome::Refunded { reason }, BoundedVec::new());
	}

	/// Removes everything a request kept while running and stores its result.
	fn end(id: RequestId, request: RequestOf<T>, outcome: Outcome, output: OutputOf<T>) {
		Requests::<T>::remove(id);
		Disputes::<T>::remove(id);
		Inputs::<T>::remove(id);
		Deadlines::<T>::remove(request.deadline, id);
		let _ = RevealedOutputs::<T>::clear_prefix(id, T::MaxRedundancy::get(), None);
		for worker in request.drawn() {
			Assignments::<T>::remove(worker, id);
			T::Verifier::job_ended(worker);
		}
		Results::<T>::insert(
			id,
			ResultRecord {
				requester: request.requester,
				model: request.model,
				outcome,
				output,
				ended_at: frame_system::Pallet::<T>::block_number(),
			},
		);
	}

	/// Sets request `id`'s deadline to `at`, moving its entry from `from`. Never fails: any
	/// number of requests may share a block.
	fn schedule(
		id: RequestId,
		from: Option<BlockNumberFor<T>>,
		at: BlockNumberFor<T>,
	) -> BlockNumberFor<T> {
		if let Some(from) = from {
			Deadlines::<T>::remove(from, id);
		}
		Deadlines::<T>::insert(at, id, ());
		at
	}

	/// Handles the missed deadlines up to `now`, oldest block first, while
	/// [`Config::DeadlineWeight`] has room for the most one can cost; the rest wait for the
	/// next block. Returns the weight used.
	pub(crate) fn process_deadlines(now: BlockNumberFor<T>) -> Weight {
		Self::process_deadlines_within(now, T::DeadlineWeight::get())
	}

	/// [`Pallet::process_deadlines`] within `budget`.
	pub(crate) fn process_deadlines_within(now: BlockNumberFor<T>, budget: Weight) -> Weight {
		let worst = Self::max_expiry_weight();
		let lookup = Self::deadline_lookup();
		let mut used = Self::deadline_overhead();
		let mut block = DeadlineCursor::<T>::get();
		while block <= now {
			if budget.any_lt(used.saturating_add(lookup)) {
				break;
			}
			used.saturating_accrue(lookup);
			let Some(id) = Deadlines::<T>::iter_key_prefix(block).next() else {
				block = block.saturating_add(One::one());
				continue;
			};
			if budget.any_lt(used.saturating_add(worst)) {
				// The entry waits for the next block.
				break;
			}
			Deadlines::<T>::remove(block, id);
			let Some(request) = Requests::<T>::get(id) else { continue };
			used.saturating_accrue(
				T::WeightInfo::expire_requests(1).saturating_sub(T::WeightInfo::expire_requests(0)),
			);
			let ended = Self::expire(id, request);
			if ended.payouts > 0 {
				used.saturating_accrue(Self::settle_weight(ended.payouts));
			}
			if ended.escalated {
				used.saturating_accrue(Self::escalation_weight());
			}
			if ended.compared > 0 {
				used.saturating_accrue(Self::comparison_weight(ended.compared));
			}
		}
		DeadlineCursor::<T>::put(block);
		used
	}

	/// Handles a missed deadline: absent workers are slashed; a redundant request moves to
	/// reveals or concludes if a majority can still form, otherwise it is refunded. Returns the
	/// payouts made and the output elements compared if it concluded.
	fn expire(id: RequestId, mut request: RequestOf<T>) -> Ended {
		let absent = |state: &SlotState| match request.phase {
			Phase::Reveal => matches!(state, SlotState::Committed(_)),
			_ => *state == SlotState::Assigned,
		};
		let missing: Vec<usize> = request
			.slots
			.iter()
			.enumerate()
			.filter(|(_, slot)| absent(&slot.state))
			.map(|(index, _)| index)
			.collect();
		let at_stake = request.fee();
		for index in missing {
			if let Some(slot) = request.slots.get_mut(index) {
				slot.state = SlotState::Absent;
				T::Verifier::slash(&slot.worker, id, at_stake);
			}
		}
		if request.phase == Phase::Running {
			Self::refund(id, request, RefundReason::Timeout);
			return Ended::default();
		}
		Self::advance(id, request)
	}

	/// Counts `calls` settled calls of `model` by `payer`, which paid `fee` and `royalty` in
	/// all, in the registry's usage and in the current epoch, and says so in
	/// [`Event::CallsSettled`].
	pub(crate) fn note_settled_calls(
		model: ModelId,
		payer: &T::AccountId,
		calls: u64,
		fee: BalanceOf<T>,
		royalty: BalanceOf<T>,
	) {
		if calls == 0 {
			return;
		}
		T::Registry::note_calls(model, payer, calls, royalty);
		Self::note_epoch(model, calls, fee, royalty);
		Self::deposit_event(Event::CallsSettled {
			model,
			payer: payer.clone(),
			calls,
			fee,
			royalty,
		});
	}

	/// Counts `calls` settled calls in the current epoch, which paid `fee` and `royalty` in
	/// all: in the totals, and under the model in the epoch's list. A model not listed takes a
	/// free place, or, when the list is full, the place of the model that stands lowest, whose
	/// calls move to the unlisted ones and whose standing it inherits
	/// ([`EpochModelUsage::standing`]).
	fn note_epoch(model: ModelId, calls: u64, fee: BalanceOf<T>, royalty: BalanceOf<T>) {
		let epoch = Self::current_epoch();
		Epochs::<T>::mutate(epoch, |totals| {
			totals.calls = totals.calls.saturating_add(calls);
			totals.fees = totals.fees.saturating_add(fee);
			totals.royalties = totals.royalties.saturating_add(royalty);
			// The standing that left its place: the model's own before this call, or the
			// replaced model's.
			let (mut usage, left) = match EpochModelCalls::<T>::try_get(epoch, model) {
				Ok(usage) => {
					let standing = usage.standing();
					EpochStandings::<T>::remove((epoch, standing, model));
					(usage, Some(standing))
				},
				Err(()) if totals.models < T::MaxModelsPerEpoch::get() => {
					totals.models = totals.models.saturating_add(1);
					(EpochModelUsage::default(), None)
				},
				Err(()) => {
					let lowest = totals.lowest;
					let Some(replaced) =
						EpochStandings::<T>::iter_key_prefix((epoch, lowest)).next()
					else {
						totals.unlisted_calls = totals.unlisted_calls.saturating_add(calls);
						return;
					};
					EpochStandings::<T>::remove((epoch, lowest, replaced));
					let gone = EpochModelCalls::<T>::take(epoch, replaced);
					totals.unlisted_calls = totals.unlisted_calls.saturating_add(gone.calls);
					let usage = EpochModelUsage { inherited: lowest, ..Default::default() };
					(usage, Some(lowest))
				},
			};
			usage.calls = usage.calls.saturating_add(calls);
			usage.royalties = usage.royalties.saturating_add(royalty);
			let standing = usage.standing();
			EpochStandings::<T>::insert((epoch, standing, model), ());
			EpochModelCalls::<T>::insert(epoch, model, usage);
			match left {
				// The first model listed in the epoch, or a newcomer in a free place.
				None if totals.models == 1 => totals.lowest = standing,
				None => totals.lowest = totals.lowest.min(standing),
				// Every listed model stands at `lowest` or more, and the one that left it now
				// stands `calls` higher: the lowest rises, when no other stands there, to the
				// next standing held, at most the model's own (one probe per standing passed).
				Some(left) if left == totals.lowest => {
					let mut lowest = left;
					while lowest < standing
						&& EpochStandings::<T>::iter_key_prefix((epoch, lowest)).next().is_none()
					{
						lowest = lowest.saturating_add(1);
					}
					totals.lowest = lowest;
				},
				Some(_) => {},
			}
		});
	}

	/// The epoch the current block is in.
	pub fn current_epoch() -> EpochIndex {
		Self::epoch_of(frame_system::Pallet::<T>::block_number())
	}

	fn epoch_of(block: BlockNumberFor<T>) -> EpochIndex {
		let length = T::EpochLength::get().max(1u32.into());
		block.checked_div(&length).unwrap_or_default().unique_saturated_into()
	}

	/// At the first block of an epoch, drops the epoch that falls out of the kept window.
	pub(crate) fn prune_epoch(now: BlockNumberFor<T>) -> Weight {
		let length = T::EpochLength::get().max(1u32.into());
		if now.checked_div(&length).unwrap_or_default().saturating_mul(length) != now {
			return Weight::zero();
		}
		let Some(old) = Self::epoch_of(now).checked_sub(T::EpochsKept::get()) else {
			return Weight::zero();
		};
		let removed = EpochModelCalls::<T>::clear_prefix(old, T::MaxModelsPerEpoch::get(), None);
		let standings =
			EpochStandings::<T>::clear_prefix((old,), T::MaxModelsPerEpoch::get(), None);
		Epochs::<T>::remove(old);
		let writes = u64::from(removed.backend).saturating_add(u64::from(standings.backend));
		T::DbWeight::get().reads_writes(1, writes.saturating_add(1))
	}

	/// Removes results older than [`Config::ResultRetention`], in request order, as far as
	/// `remaining` weight allows.
	pub(crate) fn prune_results(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
		let step = T::WeightInfo::prune_result();
		let mut used = T::DbWeight::get().reads(2);
		if remaining.any_lt(used) {
			return Weight::zero();
		}
		let mut cursor = PruneCursor::<T>::get();
		let next = NextRequestId::<T>::get();
		while cursor < next && remaining.all_gte(used.saturating_add(step)) {
			if Requests::<T>::contains_key(cursor) {
				break;
			}
			if let Some(result) = Results::<T>::get(cursor) {
				if result.ended_at.saturating_add(T::ResultRetention::get()) > now {
					break;
				}
				Results::<T>::remove(cursor);
			}
			used.saturating_accrue(step);
			cursor = cursor.saturating_add(1);
		}
		PruneCursor::<T>::put(cursor);
		used.saturating_add(T::DbWeight::get().writes(1))
	}

	/// Forgets the disputed receipts whose dispute window ended before `now`, at most
	/// [`DISPUTE_PRUNE_BLOCKS`] window ends per block, within `remaining`. Returns the weight
	/// used.
	pub(crate) fn prune_disputed(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
		let db = T::DbWeight::get();
		// Per window end at most: reading the prefix, and removing what one step removes.
		const PER_STEP: u32 = 64;
		let step = db.reads_writes(u64::from(PER_STEP).saturating_add(1), PER_STEP.into());
		let mut used = db.reads_writes(1, 1);
		if remaining.any_lt(used.saturating_add(step)) {
			return Weight::zero();
		}
		let mut cursor = DisputeCursor::<T>::get();
		let mut steps = 0u32;
		while cursor < now
			&& steps < DISPUTE_PRUNE_BLOCKS
			&& remaining.all_gte(used.saturating_add(step))
		{
			let cleared = Disputed::<T>::clear_prefix(cursor, PER_STEP, None);
			used.saturating_accrue(
				db.reads_writes(u64::from(cleared.loops).saturating_add(1), cleared.unique.into()),
			);
			steps = steps.saturating_add(1);
			if cleared.maybe_cursor.is_some() {
				break;
			}
			cursor = cursor.saturating_add(One::one());
		}
		DisputeCursor::<T>::put(cursor);
		used
	}

	/// Checks the pallet's invariants:
	/// - each requester's balance on hold for [`HoldReason::Escrow`] equals the fees of its
	///   requests that have not ended;
	/// - every such request has its input, its open assignments and its deadline entry, and no
	///   result yet;
	/// - each kept epoch's listed models, their standings and its totals agree: listed and
	///   unlisted calls sum to the epoch's calls, and `lowest` is the lowest standing.
	#[cfg(any(feature = "try-runtime", feature = "std", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use frame_support::traits::fungible::InspectHold;
		let mut held: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
		for (id, request) in Requests::<T>::iter() {
			ensure!(Inputs::<T>::contains_key(id), "running request without input");
			ensure!(!Results::<T>::contains_key(id), "running request with a result");
			ensure!(
				Deadlines::<T>::contains_key(request.deadline, id),
				"running request without its deadline entry"
			);
			for slot in request.slots.iter() {
				let open = matches!(slot.state, SlotState::Assigned | SlotState::Committed(_));
				ensure!(
					!open || Assignments::<T>::contains_key(&slot.worker, id),
					"open slot without assignment"
				);
			}
			match held.iter_mut().find(|(who, _)| *who == request.requester) {
				Some((_, total)) => *total = total.saturating_add(request.fee()),
				None => held.push((request.requester.clone(), request.fee())),
			}
		}
		for (who, amount) in held {
			let on_hold = T::Currency::balance_on_hold(&HoldReason::Escrow.into(), &who);
			ensure!(on_hold == amount, "held escrow differs from the fees of running requests");
		}
		for (_, id) in Assignments::<T>::iter_keys() {
			ensure!(Requests::<T>::contains_key(id), "assignment of an ended request");
		}
		for (id, dispute) in Disputes::<T>::iter() {
			let request = Requests::<T>::get(id).ok_or("dispute of an ended request")?;
			ensure!(
				request.slots.iter().any(|slot| slot.worker == dispute.accused),
				"court request without its accused"
			);
		}
		for (epoch, totals) in Epochs::<T>::iter() {
			let mut listed = 0u32;
			let mut counted = totals.unlisted_calls;
			let mut lowest = None::<u64>;
			for (model, usage) in EpochModelCalls::<T>::iter_prefix(epoch) {
				let standing = usage.standing();
				ensure!(
					EpochStandings::<T>::contains_key((epoch, standing, model)),
					"listed model without its standing"
				);
				listed = listed.saturating_add(1);
				counted = counted.saturating_add(usage.calls);
				lowest = Some(lowest.map_or(standing, |low: u64| low.min(standing)));
			}
			ensure!(listed == totals.models, "epoch lists another number of models");
			ensure!(
				EpochStandings::<T>::iter_key_prefix((epoch,)).count() == listed as usize,
				"a standing of no listed model"
			);
			ensure!(counted == totals.calls, "listed and unlisted calls differ from the total");
			ensure!(lowest.is_none_or(|low| low == totals.lowest), "lowest standing is wrong");
		}
		Ok(())
	}
}

impl<T: Config> From<RequestError> for Error<T> {
	fn from(error: RequestError) -> Self {
		match error {
			RequestError::ModelNotFound => Error::ModelNotFound,
			RequestError::ModelNotActive => Error::ModelNotActive,
			RequestError::InvalidRedundancy => Error::InvalidRedundancy,
			RequestError::InputTooLarge => Error::InputTooLarge,
			RequestError::InputNotCanonical => Error::InputNotCanonical,
			RequestError::InputDoesNotFitSchema => Error::InputDoesNotFitSchema,
			RequestError::FeeAboveMax => Error::FeeAboveMax,
			RequestError::InsufficientBalance => Error::InsufficientBalance,
			RequestError::NotEnoughWorkers => Error::NotEnoughWorkers,
			RequestError::NoReadyWorker => Error::NoReadyWorker,
			RequestError::WorkersBusy => Error::WorkersBusy,
		}
	}
}

/// How a request's revealed outputs were judged: the output it settles with, the outputs whose
/// workers are paid with it, and those whose workers are neither paid nor slashed.
pub(crate) struct Judgement {
	/// Content hash of the settled output.
	pub output_hash: [u8; 32],
	/// Hashes of the outputs within tolerance of it (itself included).
	pub agreeing: Vec<[u8; 32]>,
	/// Hashes of the outputs beyond the tolerance but within the fraud margin.
	pub unpaid: Vec<[u8; 32]>,
}

impl Judgement {
	/// Every worker revealed `output_hash`.
	pub(crate) fn unanimous(output_hash: [u8; 32]) -> Self {
		Self { output_hash, agreeing: alloc::vec![output_hash], unpaid: Vec::new() }
	}
}

/// What concluding a request cost: the payouts it made and the output elements it compared.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Ended {
	/// Payouts of the settlement (0 when refunded or still running).
	pub payouts: u32,
	/// Output elements the comparator read.
	pub compared: u64,
	/// Whether more workers were drawn.
	pub escalated: bool,
}

impl<T: Config> CallLedger<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn note_settled_calls(
		model: ModelId,
		payer: &T::AccountId,
		calls: u64,
		fees: BalanceOf<T>,
		royalty: BalanceOf<T>,
	) {
		Pallet::<T>::note_settled_calls(model, payer, calls, fees, royalty)
	}
}
