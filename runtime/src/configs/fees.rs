//! Transaction fees in OPG.
//!
//! A transaction pays `weight_fee + length_fee`: one OPG per second of reference compute
//! (10^12 weight units) and one micro-OPG per byte. A balance transfer costs well under a
//! milli-OPG.

use frame_support::weights::Weight;
use modelhub_primitives::{currency::OPG, Balance};

/// Fee for one unit of `ref_time` weight (one picosecond of reference compute).
pub const FEE_PER_REF_TIME: Balance =
	OPG / frame_support::weights::constants::WEIGHT_REF_TIME_PER_SECOND as Balance;

/// Converts a transaction's weight into its fee in OPG.
pub struct WeightToFee;

impl frame_support::weights::WeightToFee for WeightToFee {
	type Balance = Balance;

	fn weight_to_fee(weight: &Weight) -> Self::Balance {
		Balance::from(weight.ref_time()).saturating_mul(FEE_PER_REF_TIME)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use frame_support::weights::{constants::WEIGHT_REF_TIME_PER_SECOND, WeightToFee as _};

	#[test]
	fn one_second_of_compute_costs_one_opg() {
		let second = Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND, 0);
		assert_eq!(WeightToFee::weight_to_fee(&second), OPG);
	}

	#[test]
	fn fee_saturates_instead_of_overflowing() {
		assert!(WeightToFee::weight_to_fee(&Weight::MAX) > 0);
	}
}
