//! # Governance origins
//!
//! The origins that OpenGov referenda dispatch with on the OPG Model Hub's narrow tracks, so a
//! referendum on one track can do only what that track is for:
//!
//! - [`Origin::ProtocolParameters`]: change protocol parameters (fee shares, execution fees,
//!   minimum bonds, slash fractions) through `pallet-parameters`;
//! - [`Origin::ModelModeration`]: delist a model from the registry.
//!
//! [`EnsureProtocolParameters`] and [`EnsureModelModeration`] admit exactly one of them; the
//! runtime combines each with root.

#![cfg_attr(not(feature = "std"), no_std)]

pub use pallet::*;

#[cfg(test)]
mod tests;

// The code `frame_support::pallet` writes for the pallet's struct, storage and errors calls
// `expect` on values it builds itself; `scripts/lint.sh` keeps `expect` out of this file.
#[frame_support::pallet]
#[allow(clippy::expect_used)]
pub mod pallet {
	use frame_support::pallet_prelude::*;

	/// Configuration of the governance origins: nothing beyond the system's.
	#[pallet::config]
	pub trait Config: frame_system::Config {}

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// The origins of the governance tracks.
	#[derive(
		PartialEq, Eq, Clone, MaxEncodedLen, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug,
	)]
	#[pallet::origin]
	pub enum Origin {
		/// A passed referendum of the protocol-parameters track.
		ProtocolParameters,
		/// A passed referendum of the model-moderation track.
		ModelModeration,
	}
}

/// Declares an `EnsureOrigin` that admits exactly one [`Origin`] variant.
macro_rules! ensure_variant {
	($(#[$doc:meta])* $name:ident, $variant:ident) => {
		$(#[$doc])*
		pub struct $name;

		impl<O> frame_support::traits::EnsureOrigin<O> for $name
		where
			O: Into<Result<Origin, O>> + From<Origin>,
		{
			type Success = ();

			fn try_origin(origin: O) -> Result<Self::Success, O> {
				origin.into().and_then(|origin| match origin {
					Origin::$variant => Ok(()),
					other => Err(O::from(other)),
				})
			}

			#[cfg(feature = "runtime-benchmarks")]
			fn try_successful_origin() -> Result<O, ()> {
				Ok(O::from(Origin::$variant))
			}
		}
	};
}

ensure_variant!(
	/// Admits [`Origin::ProtocolParameters`] only.
	EnsureProtocolParameters,
	ProtocolParameters
);
ensure_variant!(
	/// Admits [`Origin::ModelModeration`] only.
	EnsureModelModeration,
	ModelModeration
);
