//! [`CheckInferenceRequest`]: refuses a `request_inference` that would fail before it enters
//! the transaction pool or a block, so a refused request costs nothing, not even its
//! transaction fee.

use crate::{pallet::*, WeightInfo};
use codec::{Decode, DecodeWithMemTracking, Encode};
use core::marker::PhantomData;
use frame_support::{
	pallet_prelude::TransactionSource,
	traits::{IsSubType, OriginTrait},
	CloneNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_runtime::{
	impl_tx_ext_default,
	traits::{DispatchInfoOf, TransactionExtension, Zero},
	transaction_validity::{InvalidTransaction, ValidTransaction},
	Weight,
};

/// Checks a signed `request_inference` as the call will check it (model, input, fee, ready and
/// free workers, the requester's balance) when the transaction is validated: by the pool
/// before it admits it and by the block author before it includes it. A request that would
/// fail is invalid, with [`InvalidTransaction::Custom`] holding its
/// [`RequestError`](modelhub_primitives::api::RequestError)'s index, so it is never included
/// and never charged. Other calls pass unchecked.
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
	type Val = ();
	type Pre = ();

	/// The checks of the request, once more.
	fn weight(&self, call: &T::RuntimeCall) -> Weight {
		match call.is_sub_type() {
			Some(Call::request_inference { input, redundancy, .. }) => {
				T::WeightInfo::request_inference(input.len() as u32, *redundancy)
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
		_source: TransactionSource,
	) -> sp_runtime::traits::ValidateResult<Self::Val, T::RuntimeCall> {
		if let Some(Call::request_inference { model, input, max_fee, redundancy }) =
			call.is_sub_type()
		{
			if let Some(who) = origin.as_signer() {
				Pallet::<T>::check_request(
					who,
					*model,
					input.clone(),
					*max_fee,
					*redundancy,
					Zero::zero(),
				)
				.map_err(|error| InvalidTransaction::Custom(error.code()))?;
			}
		}
		Ok((ValidTransaction::default(), (), origin))
	}

	impl_tx_ext_default!(T::RuntimeCall; prepare);
}
