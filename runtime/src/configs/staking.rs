//! Nominated proof of stake: the validator set is elected by stake every era, and the elected
//! validators author blocks (Aura) and finalise them (GRANDPA) with the keys they registered
//! through `pallet-session`.
//!
//! - `pallet-authorship` names the author of each block; staking gives it 20 era points.
//! - `pallet-staking` keeps bonds as `fungible` holds ([`pallet_staking::HoldReason::Staking`]),
//!   elects validators at the end of each era with the on-chain sequential Phragmén
//!   ([`OnChainSeqPhragmen`]) and pays era rewards ([`FeePotEraPayout`], [`PayRewardsFromEscrow`]).
//! - `pallet-session` rotates the Aura and GRANDPA keys every [`SessionPeriod`] blocks, taking the
//!   validator set from staking; `pallet-session::historical` keeps the per-session validator
//!   tries that prove a GRANDPA key belonged to a validator in a past session.
//! - `pallet-offences` receives GRANDPA equivocation reports and hands them to staking, which
//!   slashes the offender (and its nominators) after [`SlashDeferDuration`]; slashes go to the
//!   treasury.
//!
//! # Era rewards
//!
//! Inference settlement pays the validators' share of every execution fee into the validators'
//! pot ([`ValidatorPotAccount`]). `pallet-staking` pays era rewards lazily (`payout_stakers`) by
//! *crediting* stakers without touching total issuance and handing the resulting [`Debt`] to
//! `Config::Reward`; dropping that debt would mint. So:
//!
//! 1. at the end of each era, [`FeePotEraPayout`] moves what the pot holds above its existential
//!    deposit into [`EraRewardAccount`] and reports that amount (plus [`YearlyInflation`], zero by
//!    default) as the era's validator payout;
//! 2. whenever a payout is claimed, [`PayRewardsFromEscrow`] withdraws the same amount from
//!    [`EraRewardAccount`] and cancels the debt with it, so fee rewards move from the escrow to
//!    the stakers without changing issuance; only what the escrow cannot cover (inflation) is
//!    minted.
//!
//! The escrow keeps the rewards of ended but unclaimed eras apart from fees still arriving in the
//! pot, so no era is paid twice from the same fees. Whatever is never claimed (rewards older than
//! [`HistoryDepth`] eras, rounding dust, payees with `RewardDestination::None`) stays in the
//! escrow and covers later payouts instead of new issuance.

// `pallet-staking` is deprecated upstream in favour of `pallet-staking-async`, which needs a
// relay chain; this solochain keeps it, and its warnings are allowed in this module only.
#![allow(deprecated)]

use alloc::vec::Vec;
use frame_election_provider_support::{
	bounds::{ElectionBounds, ElectionBoundsBuilder},
	onchain, SequentialPhragmen,
};
use frame_support::{
	build_struct_json_patch, parameter_types,
	traits::{
		fungible::{Balanced, Debt, Inspect, Mutate},
		tokens::{imbalance::ResolveTo, Fortitude, Precision, Preservation},
		ConstBool, ConstU32, Get, Imbalance, Nothing, OnUnbalanced,
	},
	PalletId,
};
use frame_system::EnsureRoot;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_runtime::{
	traits::{AccountIdConversion, ConvertInto, OpaqueKeys, Zero},
	Perbill, Perquintill,
};
use sp_staking::{EraIndex, SessionIndex};

use super::model_hub::{TreasuryAccount, ValidatorPotAccount};
use crate::{
	AccountId, Aura, Balance, Balances, BlockNumber, Runtime, RuntimeCall, RuntimeEvent,
	RuntimeGenesisConfig, RuntimeHoldReason, Session, SessionConfig, SessionKeys, Staking,
	StakingConfig, Timestamp, UncheckedExtrinsic, HOURS, OPG,
};

/// Blocks per session unless the chain's genesis (or root, with `system.setStorage`) stores
/// another [`SessionLength`]: an hour.
pub const SESSION_PERIOD: BlockNumber = HOURS;
/// Sessions per era unless the chain stores another [`EraLength`]: a new validator set every 6
/// hours.
pub const SESSIONS_PER_ERA: SessionIndex = 6;
/// Shortest session whatever [`SessionLength`] holds, so that no stored value stops rotation.
pub const MIN_SESSION_PERIOD: BlockNumber = 5;
/// Eras an unbonding stake stays held and slashable: 7 days with the default era length.
pub const BONDING_DURATION: EraIndex = 28;
/// Eras a computed slash waits before it is applied, during which root may cancel it.
pub const SLASH_DEFER_DURATION: EraIndex = 27;
/// Most validators active at once; Aura's and GRANDPA's `MaxAuthorities` must be at least this.
pub const MAX_ACTIVE_VALIDATORS: u32 = 32;
/// Most validator candidates (`MaxValidatorsCount` at genesis; the election's target bound).
pub const MAX_VALIDATOR_CANDIDATES: u32 = 1_000;
/// Most nominators (`MaxNominatorsCount` at genesis).
pub const MAX_NOMINATORS: u32 = 4_000;
/// Most validators one nominator may nominate.
pub const MAX_NOMINATIONS: u32 = 16;

/// Bond of each validator of the development presets: 100 000 OPG.
pub const GENESIS_VALIDATOR_BOND: Balance = 100_000 * OPG;
/// Smallest bond of a validator candidate (genesis `MinValidatorBond`): 10 000 OPG.
pub const MIN_VALIDATOR_BOND: Balance = 10_000 * OPG;
/// Smallest bond of a nominator (genesis `MinNominatorBond`): 100 OPG.
pub const MIN_NOMINATOR_BOND: Balance = 100 * OPG;

/// Milliseconds in a Julian year (365.25 days), the unit of [`YearlyInflation`].
const MILLISECS_PER_YEAR: u64 = 1_000 * 3_600 * 24 * 36_525 / 100;

// Invariants `pallet-staking` checks in `integrity_test`, caught here at compile time.
const _: () = assert!(SLASH_DEFER_DURATION < BONDING_DURATION);
const _: () = assert!(MAX_ACTIVE_VALIDATORS <= MAX_VALIDATOR_CANDIDATES);

parameter_types! {
	/// Blocks per session as stored, read through [`SessionPeriod`]: [`SESSION_PERIOD`] unless
	/// the genesis of the chain set another (the `local-fast` chain's is 10 blocks) or root
	/// changed it with `system.setStorage` (it takes effect at the next block that the new
	/// length divides).
	pub storage SessionLength: BlockNumber = SESSION_PERIOD;
	/// Sessions per era as stored, read through [`SessionsPerEra`]: [`SESSIONS_PER_ERA`] unless
	/// the genesis of the chain set another (the `local-fast` chain's is 2) or root changed it.
	pub storage EraLength: SessionIndex = SESSIONS_PER_ERA;
	/// The first session is as long as every other.
	pub const SessionOffset: BlockNumber = 0;
	/// Held from an account when it first sets session keys: 1 OPG.
	pub const SessionKeyDeposit: Balance = OPG;
	/// Eras an unbonding stake stays held and slashable.
	pub const BondingDuration: EraIndex = BONDING_DURATION;
	/// Eras a slash is deferred so that root can cancel it.
	pub const SlashDeferDuration: EraIndex = SLASH_DEFER_DURATION;
	/// Eras of exposures, points and rewards kept: rewards can be claimed for 84 eras (21 days).
	pub const HistoryDepth: u32 = 84;
	/// Most validators active at once (the election's winners).
	pub const MaxActiveValidators: u32 = MAX_ACTIVE_VALIDATORS;
	/// Most nominators of one validator paid per `payout_stakers` page.
	pub const MaxExposurePageSize: u32 = 64;
	/// Most voters one election reads: every nominator and every candidate's self-vote.
	pub const MaxElectingVoters: u32 = MAX_NOMINATORS + MAX_VALIDATOR_CANDIDATES;
	/// What the election reads from staking: all voters and all candidates the counts allow.
	pub ElectionBoundsOnChain: ElectionBounds = ElectionBoundsBuilder::default()
		.voters_count(MaxElectingVoters::get().into())
		.targets_count(MAX_VALIDATOR_CANDIDATES.into())
		.build();
	/// GRANDPA set ids mapped to sessions: every session of the bonding duration at the default
	/// session and era lengths, so that any equivocation still slashable can be checked (with
	/// shorter sessions, the most recent of them).
	pub const MaxSetIdSessionEntries: u64 =
		(BONDING_DURATION as u64).saturating_mul(SESSIONS_PER_ERA as u64);
	/// Blocks an equivocation report stays valid in the transaction pool: the bonding duration at
	/// the default session and era lengths.
	pub const ReportLongevity: u64 =
		(BONDING_DURATION as u64)
			.saturating_mul(SESSIONS_PER_ERA as u64)
			.saturating_mul(SESSION_PERIOD as u64);
	/// Yearly inflation paid to stakers on top of the fee pot, as a share of total issuance.
	/// Zero: validators are paid from inference fees only. Root changes it with
	/// `system.setStorage`.
	pub storage YearlyInflation: Perbill = Perbill::zero();
	/// The account holding the fee rewards of ended eras until stakers claim them.
	pub EraRewardAccount: AccountId = PalletId(*b"opg/erwd").into_account_truncating();
}

/// Blocks per session: the stored [`SessionLength`], at least [`MIN_SESSION_PERIOD`].
pub struct SessionPeriod;
impl Get<BlockNumber> for SessionPeriod {
	fn get() -> BlockNumber {
		SessionLength::get().max(MIN_SESSION_PERIOD)
	}
}

/// Sessions per era: the stored [`EraLength`], at least one.
pub struct SessionsPerEra;
impl Get<SessionIndex> for SessionsPerEra {
	fn get() -> SessionIndex {
		EraLength::get().max(1)
	}
}

impl pallet_authorship::Config for Runtime {
	/// The Aura slot's author index, mapped to the account through the session's validators.
	type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Self, Aura>;
	/// Staking gives the author era points.
	type EventHandler = Staking;
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	/// Validators are identified by their stash account.
	type ValidatorId = AccountId;
	/// Any account may set keys; only elected stashes' keys are ever used.
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	type NextSessionRotation = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	/// Staking elects the set; `historical` records each session's set for key-ownership proofs.
	type SessionManager = pallet_session::historical::NoteHistoricalRoot<Self, Staking>;
	/// Aura and GRANDPA, in the order of [`SessionKeys`].
	type SessionHandler = <SessionKeys as OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	/// Offenders are disabled (Aura refuses their blocks) up to a third of the set; a heavier
	/// offence may re-enable a lighter offender in favour of the heavier one.
	type DisablingStrategy = pallet_session::disabling::UpToLimitWithReEnablingDisablingStrategy;
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	/// The key deposit is a `fungible` hold.
	type Currency = Balances;
	type KeyDeposit = SessionKeyDeposit;
}

impl pallet_session::historical::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	/// A validator's presence in a session is all offences need; its exposure is in staking.
	type FullIdentification = ();
	type FullIdentificationOf = pallet_staking::UnitIdentificationOf<Self>;
}

impl pallet_offences::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type IdentificationTuple = pallet_session::historical::IdentificationTuple<Self>;
	/// Staking slashes reported offenders.
	type OnOffenceHandler = Staking;
}

/// The election run when an era is planned (and at genesis): sequential Phragmén over all of
/// staking's voters and candidates, computed in the block that plans the era.
pub struct OnChainSeqPhragmen;

impl onchain::Config for OnChainSeqPhragmen {
	/// Keep the best-backed winners and backers if the result exceeds the bounds.
	type Sort = ConstBool<true>;
	type System = Runtime;
	type Solver = SequentialPhragmen<AccountId, Perbill>;
	/// Every voter may back one winner: nothing is cut.
	type MaxBackersPerWinner = MaxElectingVoters;
	/// Staking requires this to be at most `MaxValidatorSet`.
	type MaxWinnersPerPage = MaxActiveValidators;
	type DataProvider = Staking;
	type WeightInfo = frame_election_provider_support::weights::SubstrateWeight<Runtime>;
	type Bounds = ElectionBoundsOnChain;
}

/// The sizes `pallet-staking`'s benchmarks run with.
pub struct StakingBenchmarkingConfig;

impl pallet_staking::BenchmarkingConfig for StakingBenchmarkingConfig {
	type MaxValidators = ConstU32<MAX_VALIDATOR_CANDIDATES>;
	type MaxNominators = ConstU32<MAX_NOMINATORS>;
}

/// An era's validator payout: the fees the validators' pot received (moved to
/// [`EraRewardAccount`] now), plus [`YearlyInflation`] for the era's duration. Nothing is paid
/// elsewhere ("the rest" is zero).
pub struct FeePotEraPayout;

impl pallet_staking::EraPayout<Balance> for FeePotEraPayout {
	fn era_payout(
		_total_staked: Balance,
		total_issuance: Balance,
		era_duration_millis: u64,
	) -> (Balance, Balance) {
		let era_share = Perquintill::from_rational(
			era_duration_millis.min(MILLISECS_PER_YEAR),
			MILLISECS_PER_YEAR,
		);
		let inflation = era_share.mul_floor(YearlyInflation::get().mul_floor(total_issuance));
		(sweep_validator_pot().saturating_add(inflation), Zero::zero())
	}
}

/// What `who` can pay out while keeping its existential deposit.
fn spendable(who: &AccountId) -> Balance {
	<Balances as Inspect<AccountId>>::reducible_balance(
		who,
		Preservation::Preserve,
		Fortitude::Polite,
	)
}

/// Moves what the validators' pot holds above its existential deposit into
/// [`EraRewardAccount`], returning the amount moved (zero if the transfer fails, e.g. because
/// it is below the existential deposit of a not yet existing escrow: it is then moved next era).
fn sweep_validator_pot() -> Balance {
	let pot = ValidatorPotAccount::get();
	let fees = spendable(&pot);
	if fees.is_zero() {
		return Zero::zero();
	}
	<Balances as Mutate<AccountId>>::transfer(
		&pot,
		&EraRewardAccount::get(),
		fees,
		Preservation::Preserve,
	)
	.unwrap_or_default()
}

/// Pays claimed era rewards out of [`EraRewardAccount`].
///
/// Staking credits each staker and hands over the matching debt; this withdraws the same amount
/// from the escrow and cancels the debt with it. What the escrow cannot cover (the inflation
/// part) stays debt, and is minted when dropped.
pub struct PayRewardsFromEscrow;

impl OnUnbalanced<Debt<AccountId, Balances>> for PayRewardsFromEscrow {
	fn on_nonzero_unbalanced(paid: Debt<AccountId, Balances>) {
		let escrow = EraRewardAccount::get();
		let covered = spendable(&escrow).min(paid.peek());
		if covered.is_zero() {
			// Nothing in the escrow: the whole payout is minted as `paid` drops.
			return;
		}
		// Should the withdrawal fail, `paid` drops and the whole payout is minted.
		if let Ok(credit) = <Balances as Balanced<AccountId>>::withdraw(
			&escrow,
			covered,
			Precision::Exact,
			Preservation::Preserve,
			Fortitude::Polite,
		) {
			// `covered <= paid`, so what is left is debt only: the uncovered part, minted here.
			let _ = paid.offset(credit);
		}
	}
}

impl pallet_staking::Config for Runtime {
	/// Only read to migrate ledgers locked with the old `Currency` traits (none on this chain).
	type OldCurrency = Balances;
	/// Bonds are `fungible` holds.
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type CurrencyBalance = Balance;
	type UnixTime = Timestamp;
	/// OPG has 18 decimals: issuance exceeds `u64`, so votes are scaled by total issuance.
	type CurrencyToVote = sp_staking::currency_to_vote::U128CurrencyToVote;
	type ElectionProvider = onchain::OnChainExecution<OnChainSeqPhragmen>;
	type GenesisElectionProvider = onchain::OnChainExecution<OnChainSeqPhragmen>;
	type NominationsQuota = pallet_staking::FixedNominationsQuota<MAX_NOMINATIONS>;
	type HistoryDepth = HistoryDepth;
	/// [`FeePotEraPayout`] leaves no remainder. Should root cap staker rewards
	/// (`MaxStakedRewards`), the capped part is not minted: its fees stay in the escrow.
	type RewardRemainder = ();
	type RuntimeEvent = RuntimeEvent;
	/// Slashed stake goes to the treasury.
	type Slash = ResolveTo<TreasuryAccount, Balances>;
	type Reward = PayRewardsFromEscrow;
	type SessionsPerEra = SessionsPerEra;
	type BondingDuration = BondingDuration;
	type SlashDeferDuration = SlashDeferDuration;
	/// Cancels deferred slashes and sets the minimum commission.
	type AdminOrigin = EnsureRoot<AccountId>;
	type SessionInterface = Self;
	type EraPayout = FeePotEraPayout;
	type NextNewSession = Session;
	type MaxExposurePageSize = MaxExposurePageSize;
	type MaxValidatorSet = MaxActiveValidators;
	/// Staking's own maps, unsorted: every voter is read (the counts at genesis keep them within
	/// [`ElectionBoundsOnChain`]), so no sorted list and no rebagging are needed.
	type VoterList = pallet_staking::UseNominatorsAndValidatorsMap<Self>;
	type TargetList = pallet_staking::UseValidatorsMap<Self>;
	type MaxUnlockingChunks = ConstU32<32>;
	type MaxControllersInDeprecationBatch = ConstU32<100>;
	type EventListeners = ();
	type Filter = Nothing;
	type BenchmarkingConfig = StakingBenchmarkingConfig;
	type WeightInfo = pallet_staking::weights::SubstrateWeight<Runtime>;
}

/// Extrinsics the runtime builds itself: GRANDPA equivocation reports, submitted unsigned from
/// the node's voter through the offchain transaction pool.
impl<C> frame_system::offchain::CreateTransactionBase<C> for Runtime
where
	RuntimeCall: From<C>,
{
	type Extrinsic = UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

/// Bare (unsigned) extrinsics built by the runtime.
impl<C> frame_system::offchain::CreateBare<C> for Runtime
where
	RuntimeCall: From<C>,
{
	fn create_bare(call: RuntimeCall) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_bare(call)
	}
}

/// The session and staking part of a genesis preset. Each `(stash, aura, grandpa)` bonds
/// [`GENESIS_VALIDATOR_BOND`], validates, is invulnerable and has its session keys set; the
/// genesis election then makes exactly these the validators of eras 0 and 1. Each later election
/// takes up to [`MAX_ACTIVE_VALIDATORS`] candidates by stake (root changes that number with
/// `staking.setValidatorCount`), so a new candidate joins at the next era.
pub fn genesis_patch(validators: &[(AccountId, AuraId, GrandpaId)]) -> serde_json::Value {
	let stashes: Vec<AccountId> = validators.iter().map(|(stash, _, _)| stash.clone()).collect();
	build_struct_json_patch!(RuntimeGenesisConfig {
		session: SessionConfig {
			keys: validators
				.iter()
				.map(|(stash, aura, grandpa)| {
					(
						stash.clone(),
						stash.clone(),
						SessionKeys { aura: aura.clone(), grandpa: grandpa.clone() },
					)
				})
				.collect::<Vec<_>>(),
		},
		staking: StakingConfig {
			validator_count: MAX_ACTIVE_VALIDATORS,
			minimum_validator_count: 1,
			invulnerables: stashes.clone(),
			stakers: stashes
				.iter()
				.map(|stash| {
					(
						stash.clone(),
						stash.clone(),
						GENESIS_VALIDATOR_BOND,
						pallet_staking::StakerStatus::Validator,
					)
				})
				.collect::<Vec<_>>(),
			slash_reward_fraction: Perbill::from_percent(10),
			min_validator_bond: MIN_VALIDATOR_BOND,
			min_nominator_bond: MIN_NOMINATOR_BOND,
			max_validator_count: Some(MAX_VALIDATOR_CANDIDATES),
			max_nominator_count: Some(MAX_NOMINATORS),
		},
	})
}
