//! [`CheckInferenceRequest`]: refuses a `request_inference` that would fail before it enters
//! the transaction pool or a block, so a refused request costs nothing, not even its
//! transaction fee; one that waits only for busy workers stays in the pool until they are free.

use crate::pallet::*;
use codec::{Decode, DecodeWithMemTracking, Encode};
use core::marker::PhantomData;
use frame_support::{
	pallet_prelude::TransactionSource,
	traits::{Get, IsSubType, OriginTrait},
	CloneNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound,
};
use modelhub_primitives::api::RequestError;
use scale_info::TypeInfo;
use sp_runtime::{
	traits::{DispatchInfoOf, PostDispatchInfoOf, TransactionExtension, UniqueSaturatedInto, Zero},
	transaction_validity::{InvalidTransaction, TransactionValidityError, ValidTransaction},
	DispatchResult, Weight,
};

/// Checks a signed `request_inference` as the call will check it (model, input, fee, ready and
/// free workers, the requester's balance) when the transaction is validated: by the pool
/// before it admits it and by the block author before it includes it. A request that would
/// fail is invalid, with [`InvalidTransaction::Custom`] holding its
/// [`RequestError`](modelhub_primitives::api::RequestError)'s index, so it is never included
/// and never charged. Other calls pass unchecked.
///
/// A request that would fail only because too few of its model's ready workers are free now
/// ([`RequestError::WorkersBusy`](modelhub_primitives::api::RequestError::WorkersBusy)) waits:
/// the pool admits it, valid for [`Config::ResultTimeout`] blocks at a time while it stays so,
/// and a block author meets [`InvalidTransaction::ExhaustsResources`], which leaves it in the
/// pool for a later block, as for a full block.
///
/// The transaction fee is not known here; a requester whose balance covers the fee but not
/// the transaction fee as well is refused by the call itself (`InsufficientBalance`).
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	DefaultNoBound,
	CloneNoBound,
	EqNoBound,
	PartialEqNoBound,
	TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct CheckInferenceRequest<T>(PhantomData<T>);

impl<T> CheckInferenceRequest<T> {
	/// The extension.
	pub fn new() -> Self {
		Self(PhantomData)
	}
}

impl<T> core::fmt::Debug for CheckInferenceRequest<T> {
	fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
		f.write_str("CheckInferenceRequest")
	}
}

impl<T: Config + Send + Sync> TransactionExtension<T::RuntimeCall> for CheckInferenceRequest<T>
where
	T::RuntimeCall: IsSubType<Call<T>>,
{
	const IDENTIFIER: &'static str = "CheckInferenceRequest";
	type Implicit = ();
	/// The weight the checks did not use (they scanned fewer workers than a full pool).
	type Val = Weight;
	type Pre = Weight;

	/// The checks of the request, once more, drawing from a full pool.
	fn weight(&self, call: &T::RuntimeCall) -> Weight {
		match call.is_sub_type() {
			Some(Call::request_inference { input, redundancy, .. }) => {
				Pallet::<T>::request_weight(input.len() as u32, *redundancy, None)
			},
			_ => Weight::zero(),
		}
	}

	fn validate(
		&self,
		origin: T::RuntimeOrigin,
		call: &T::RuntimeCall,
		_info: &DispatchInfoOf<T::RuntimeCall>,
		_len: usize,
		_self_implicit: Self::Implicit,
		_inherited_implication: &impl Encode,
		source: TransactionSource,
	) -> sp_runtime::traits::ValidateResult<Self::Val, T::RuntimeCall> {
		if let Some(Call::request_inference { model, input, max_fee, redundancy }) =
			call.is_sub_type()
		{
			if let Some(who) = origin.as_signer() {
				let checked = Pallet::<T>::check_request(
					who,
					*model,
					input.clone(),
					*max_fee,
					*redundancy,
					Zero::zero(),
				);
				match checked {
					Ok((_, ready)) => {
						let length = input.len() as u32;
						let most = Pallet::<T>::request_weight(length, *redundancy, None);
						let used = Pallet::<T>::request_weight(length, *redundancy, Some(ready));
						return Ok((
							ValidTransaction::default(),
							most.saturating_sub(used),
							origin,
						));
					},
					Err(RequestError::WorkersBusy) if source == TransactionSource::InBlock => {
						return Err(InvalidTransaction::ExhaustsResources.into())
					},
					Err(RequestError::WorkersBusy) => {
						let longevity = T::ResultTimeout::get().unique_saturated_into();
						let valid = ValidTransaction { longevity, ..Default::default() };
						return Ok((valid, Weight::zero(), origin));
					},
					Err(error) => return Err(InvalidTransaction::Custom(error.code()).into()),
				}
			}
		}
		Ok((ValidTransaction::default(), Weight::zero(), origin))
	}

	fn prepare(
		self,
		unused: Self::Val,
		_origin: &T::RuntimeOrigin,
		_call: &T::RuntimeCall,
		_info: &DispatchInfoOf<T::RuntimeCall>,
		_len: usize,
	) -> Result<Self::Pre, TransactionValidityError> {
		Ok(unused)
	}

	/// Refunds what the checks did not use.
	fn post_dispatch_details(
		unused: Self::Pre,
		_info: &DispatchInfoOf<T::RuntimeCall>,
		_post_info: &PostDispatchInfoOf<T::RuntimeCall>,
		_len: usize,
		_result: &DispatchResult,
	) -> Result<Weight, TransactionValidityError> {
		Ok(unused)
	}
}
