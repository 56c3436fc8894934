//! OpenGov: token holders decide by referendum, voting with conviction.
//!
//! - `pallet-preimage` stores proposals (deposits held through `fungible` holds);
//! - `pallet-scheduler` enacts them;
//! - `pallet-referenda` runs referenda on three tracks, each with its own origin, deposits,
//!   periods and approval and support curves ([`TRACKS`]):
//!   - `root`: anything;
//!   - `protocol_parameters`: `parameters.setParameter` (fee shares, execution fees, minimum
//!     bond, slash fraction), with the [`pallet_governance_origins::Origin::ProtocolParameters`]
//!     origin;
//!   - `model_moderation`: `modelRegistry.delistModel`, with the
//!     [`pallet_governance_origins::Origin::ModelModeration`] origin;
//! - `pallet-conviction-voting` tallies votes; a vote locks the voter's OPG for longer the more
//!   conviction it carries;
//! - `pallet-treasury` holds the treasury's share of every settled fee (its account is the one
//!   settlement pays) and pays approved spends.
//!
//! The deprecated `Currency` traits appear here only where these pallets still ask for them
//! (referendum and voting deposits and locks, treasury proposals).

use alloc::borrow::Cow;
use frame_support::{
	parameter_types,
	traits::{
		fungible::HoldConsideration,
		tokens::{PayFromAccount, UnityAssetBalanceConversion},
		AsEnsureOriginWithArg, ConstU32, EqualPrivilegeOnly, LinearStoragePrice,
	},
	weights::Weight,
	PalletId,
};
use frame_system::{EnsureRoot, EnsureRootWithSuccess, EnsureSigned};
use pallet_referenda::{Curve, Track, TrackInfo};
use sp_runtime::{traits::IdentityLookup, Perbill, Permill};

use super::block_weight_share;
use crate::{
	configs::model_hub::TreasuryAccount, AccountId, Balance, Balances, BlockNumber, OriginCaller,
	Preimage, Referenda, Runtime, RuntimeCall, RuntimeEvent, RuntimeHoldReason, RuntimeOrigin,
	Scheduler, System, Treasury, DAYS, HOURS, MILLI_OPG, MINUTES, OPG,
};

parameter_types! {
	/// Held for any stored preimage.
	pub const PreimageBaseDeposit: Balance = OPG;
	/// Held per byte of a stored preimage.
	pub const PreimageByteDeposit: Balance = MILLI_OPG;
	/// The hold reason of preimage deposits.
	pub const PreimageHoldReason: RuntimeHoldReason =
		RuntimeHoldReason::Preimage(pallet_preimage::HoldReason::Preimage);
}

impl pallet_preimage::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = pallet_preimage::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	type ManagerOrigin = EnsureRoot<AccountId>;
	type Consideration = HoldConsideration<
		AccountId,
		Balances,
		PreimageHoldReason,
		LinearStoragePrice<PreimageBaseDeposit, PreimageByteDeposit, Balance>,
	>;
}

parameter_types! {
	/// Scheduled calls may use up to 80% of a block.
	pub MaximumSchedulerWeight: Weight = block_weight_share(Perbill::from_percent(80));
}

impl pallet_scheduler::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeOrigin = RuntimeOrigin;
	type PalletsOrigin = OriginCaller;
	type RuntimeCall = RuntimeCall;
	type MaximumWeight = MaximumSchedulerWeight;
	type ScheduleOrigin = EnsureRoot<AccountId>;
	type OriginPrivilegeCmp = EqualPrivilegeOnly;
	type MaxScheduledPerBlock = ConstU32<50>;
	type WeightInfo = pallet_scheduler::weights::SubstrateWeight<Runtime>;
	type Preimages = Preimage;
	type BlockNumberProvider = System;
}

parameter_types! {
	/// The treasury's pallet id; its account is [`TreasuryAccount`].
	pub const TreasuryPalletId: PalletId = PalletId(*b"py/trsry");
	/// Approved spends are paid out every day.
	pub const SpendPeriod: BlockNumber = DAYS;
	/// Nothing is burned at the end of a spend period.
	pub const Burn: Permill = Permill::zero();
	/// A spend may be claimed within 30 days of becoming valid.
	pub const PayoutPeriod: BlockNumber = 30 * DAYS;
	/// Root (the root track) may spend any amount.
	pub const MaxSpend: Balance = Balance::MAX;
}

impl pallet_treasury::Config for Runtime {
	type Currency = Balances;
	type RejectOrigin = EnsureRoot<AccountId>;
	type RuntimeEvent = RuntimeEvent;
	type SpendPeriod = SpendPeriod;
	type Burn = Burn;
	type PalletId = TreasuryPalletId;
	type BurnDestination = ();
	type WeightInfo = pallet_treasury::weights::SubstrateWeight<Runtime>;
	type SpendFunds = ();
	type MaxApprovals = ConstU32<100>;
	type SpendOrigin = EnsureRootWithSuccess<AccountId, MaxSpend>;
	type AssetKind = ();
	type Beneficiary = AccountId;
	type BeneficiaryLookup = IdentityLookup<AccountId>;
	type Paymaster = PayFromAccount<Balances, TreasuryAccount>;
	type BalanceConverter = UnityAssetBalanceConversion;
	type PayoutPeriod = PayoutPeriod;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = ();
	type BlockNumberProvider = System;
}

impl pallet_conviction_voting::Config for Runtime {
	type WeightInfo = pallet_conviction_voting::weights::SubstrateWeight<Runtime>;
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type Polls = Referenda;
	type MaxTurnout =
		frame_support::traits::tokens::currency::ActiveIssuanceOf<Balances, AccountId>;
	type MaxVotes = ConstU32<512>;
	type VoteLockingPeriod = ConstU32<{ 7 * DAYS }>;
	type BlockNumberProvider = System;
	type VotingHooks = ();
}

impl pallet_governance_origins::Config for Runtime {}

parameter_types! {
	/// Held from whoever submits a referendum until it is decided.
	pub const SubmissionDeposit: Balance = 10 * OPG;
	/// A referendum that never starts deciding can be closed after 14 days.
	pub const UndecidingTimeout: BlockNumber = 14 * DAYS;
}

impl pallet_referenda::Config for Runtime {
	type WeightInfo = pallet_referenda::weights::SubstrateWeight<Runtime>;
	type RuntimeCall = RuntimeCall;
	type RuntimeEvent = RuntimeEvent;
	type Scheduler = Scheduler;
	type Currency = Balances;
	type SubmitOrigin = AsEnsureOriginWithArg<EnsureSigned<AccountId>>;
	type CancelOrigin = EnsureRoot<AccountId>;
	type KillOrigin = EnsureRoot<AccountId>;
	type Slash = Treasury;
	type Votes = pallet_conviction_voting::VotesOf<Runtime>;
	type Tally = pallet_conviction_voting::TallyOf<Runtime>;
	type SubmissionDeposit = SubmissionDeposit;
	type MaxQueued = ConstU32<100>;
	type UndecidingTimeout = UndecidingTimeout;
	type AlarmInterval = ConstU32<1>;
	type Tracks = Tracks;
	type Preimages = Preimage;
	type BlockNumberProvider = System;
}

/// The root track.
pub const ROOT_TRACK: u16 = 0;
/// The protocol-parameters track.
pub const PROTOCOL_PARAMETERS_TRACK: u16 = 1;
/// The model-moderation track.
pub const MODEL_MODERATION_TRACK: u16 = 2;

/// A track name padded with zeros to the 25 bytes `pallet-referenda` stores.
// Only called in the initialiser of a `static`: it runs while the runtime compiles, where an
// out-of-bounds index or overflow is a build error.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn name(text: &str) -> [u8; 25] {
	let bytes = text.as_bytes();
	let mut name = [0u8; 25];
	let mut i = 0;
	while i < bytes.len() && i < 25 {
		name[i] = bytes[i];
		i += 1;
	}
	name
}

/// Approval falls linearly from `ceil` to `floor` over the decision period.
const fn linear(floor: u32, ceil: u32) -> Curve {
	Curve::LinearDecreasing {
		length: Perbill::one(),
		floor: Perbill::from_percent(floor),
		ceil: Perbill::from_percent(ceil),
	}
}

/// The tracks, by id. Root decides slowly with high support; parameters and moderation are
/// narrower and quicker.
pub static TRACKS: [Track<u16, Balance, BlockNumber>; 3] = [
	Track {
		id: ROOT_TRACK,
		info: TrackInfo {
			name: name("root"),
			max_deciding: 1,
			decision_deposit: 1_000 * OPG,
			prepare_period: 2 * HOURS,
			decision_period: 14 * DAYS,
			confirm_period: DAYS,
			min_enactment_period: DAYS,
			min_approval: linear(50, 100),
			min_support: linear(0, 50),
		},
	},
	Track {
		id: PROTOCOL_PARAMETERS_TRACK,
		info: TrackInfo {
			name: name("protocol_parameters"),
			max_deciding: 10,
			decision_deposit: 100 * OPG,
			prepare_period: HOURS,
			decision_period: 7 * DAYS,
			confirm_period: 3 * HOURS,
			min_enactment_period: HOURS,
			min_approval: linear(50, 100),
			min_support: linear(0, 20),
		},
	},
	Track {
		id: MODEL_MODERATION_TRACK,
		info: TrackInfo {
			name: name("model_moderation"),
			max_deciding: 20,
			decision_deposit: 50 * OPG,
			prepare_period: 30 * MINUTES,
			decision_period: 3 * DAYS,
			confirm_period: HOURS,
			min_enactment_period: 10 * MINUTES,
			min_approval: linear(50, 100),
			min_support: linear(0, 10),
		},
	},
];

/// The tracks of [`TRACKS`] and the origin each dispatches with.
pub struct Tracks;

impl pallet_referenda::TracksInfo<Balance, BlockNumber> for Tracks {
	type Id = u16;
	type RuntimeOrigin = OriginCaller;

	fn tracks() -> impl Iterator<Item = Cow<'static, Track<Self::Id, Balance, BlockNumber>>> {
		TRACKS.iter().map(Cow::Borrowed)
	}

	fn track_for(origin: &Self::RuntimeOrigin) -> Result<Self::Id, ()> {
		use pallet_governance_origins::Origin;
		match origin {
			OriginCaller::system(frame_system::RawOrigin::Root) => Ok(ROOT_TRACK),
			OriginCaller::GovernanceOrigins(Origin::ProtocolParameters) => {
				Ok(PROTOCOL_PARAMETERS_TRACK)
			},
			OriginCaller::GovernanceOrigins(Origin::ModelModeration) => Ok(MODEL_MODERATION_TRACK),
			_ => Err(()),
		}
	}
}
