//! Publishing models and versions, with the checks every artifact, schema and split passes.

use crate::{pallet::*, types::*};
use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
use modelhub_primitives::{agreement::Agreement, registry::ModelId, schema::IoSchema};
use sp_runtime::Permill;

/// URI schemes workers know how to fetch.
const URI_SCHEMES: [&[u8]; 4] = [b"https://", b"http://", b"file://", b"ipfs://"];

/// The largest meaningful rounding: the mantissa width of f64.
pub(crate) const MAX_ROUNDING_BITS: u8 = 52;

impl<T: Config> Pallet<T> {
	/// Checks an artifact: supported URI with a location, size within bounds.
	pub(crate) fn ensure_valid_artifact(artifact: &ArtifactOf<T>) -> DispatchResult {
		let uri = artifact.uri.as_slice();
		let supported =
			URI_SCHEMES.iter().any(|scheme| uri.len() > scheme.len() && uri.starts_with(scheme));
		ensure!(supported, Error::<T>::UnsupportedUri);
		ensure!(artifact.size > 0, Error::<T>::ArtifactEmpty);
		ensure!(artifact.size <= T::MaxArtifactSize::get(), Error::<T>::ArtifactTooLarge);
		Ok(())
	}

	/// Checks an interface: a valid schema, rounding bits within the f64 mantissa, tolerance
	/// parts at most 100% and a fraud margin of 1 to 10 000.
	pub(crate) fn ensure_valid_interface(
		schema: &IoSchema,
		rounding_bits: u8,
		agreement: &Agreement,
	) -> DispatchResult {
		schema.validate().map_err(|_| Error::<T>::InvalidSchema)?;
		ensure!(rounding_bits <= MAX_ROUNDING_BITS, Error::<T>::RoundingBitsTooHigh);
		ensure!(agreement.tolerance.is_valid(), Error::<T>::ToleranceTooHigh);
		ensure!(agreement.is_valid(), Error::<T>::FraudMarginOutOfRange);
		Ok(())
	}

	/// Checks a royalty split: non-empty, distinct accounts, non-zero shares summing to 100%.
	pub(crate) fn ensure_valid_split(royalties: &RoyaltySplitOf<T>) -> DispatchResult {
		ensure!(!royalties.is_empty(), Error::<T>::NoBeneficiaries);
		let mut total: u32 = 0;
		for (i, (who, share)) in royalties.iter().enumerate() {
			ensure!(!share.is_zero(), Error::<T>::ZeroShare);
			ensure!(
				!royalties.iter().skip(i.saturating_add(1)).any(|(other, _)| other == who),
				Error::<T>::DuplicateBeneficiary
			);
			total = total.saturating_add(share.deconstruct());
		}
		ensure!(total == Permill::one().deconstruct(), Error::<T>::SharesNotWhole);
		Ok(())
	}

	/// Checks a parent link; returns the new model's lineage depth.
	fn lineage_depth(parent: &Option<ParentLink>) -> Result<u32, DispatchError> {
		let Some(link) = parent else { return Ok(0) };
		ensure!(link.share < Permill::one(), Error::<T>::ParentShareTooHigh);
		let parent_model = Models::<T>::get(link.model).ok_or(Error::<T>::ParentNotFound)?;
		let depth = parent_model.depth.saturating_add(1);
		ensure!(depth <= T::MaxLineageDepth::get(), Error::<T>::LineageTooDeep);
		Ok(depth)
	}

	/// Publishes a model owned by `owner`; returns its id.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn do_publish_model(
		owner: T::AccountId,
		name: BoundedVec<u8, T::MaxNameLen>,
		description: BoundedVec<u8, T::MaxDescriptionLen>,
		artifact: ArtifactOf<T>,
		schema: IoSchema,
		output_rounding_bits: u8,
		agreement: Agreement,
		price: BalanceOf<T>,
		royalties: RoyaltySplitOf<T>,
		parent: Option<ParentLink>,
	) -> Result<ModelId, DispatchError> {
		ensure!(!name.is_empty(), Error::<T>::NameEmpty);
		ensure!(price <= T::MaxPrice::get(), Error::<T>::PriceTooHigh);
		Self::ensure_valid_artifact(&artifact)?;
		Self::ensure_valid_interface(&schema, output_rounding_bits, &agreement)?;
		Self::ensure_valid_split(&royalties)?;
		let depth = Self::lineage_depth(&parent)?;

		let id = NextModelId::<T>::get();
		let next = id.checked_add(1).ok_or(Error::<T>::ModelIdOverflow)?;
		ModelsByOwner::<T>::try_mutate(&owner, |owned| owned.try_push(id))
			.map_err(|_| Error::<T>::TooManyModels)?;

		let model_deposit = T::ModelDeposit::get();
		let version_deposit = T::VersionDeposit::get();
		let reason = HoldReason::ModelDeposit.into();
		T::Currency::hold(&reason, &owner, model_deposit)?;
		T::Currency::hold(&reason, &owner, version_deposit)?;

		let now = frame_system::Pallet::<T>::block_number();
		let artifact_hash = artifact.hash;
		Versions::<T>::insert(
			id,
			1,
			VersionRecord {
				artifact,
				schema,
				output_rounding_bits,
				agreement,
				published: now,
				deposit: Deposit { depositor: owner.clone(), amount: version_deposit },
			},
		);
		Models::<T>::insert(
			id,
			Model {
				owner: owner.clone(),
				name,
				description,
				price,
				royalties,
				parent,
				depth,
				status: ModelStatus::Active,
				version: 1,
				created: now,
				updated: now,
				deposit: Deposit { depositor: owner.clone(), amount: model_deposit },
			},
		);
		NextModelId::<T>::put(next);
		Self::note_published(id);

		Self::deposit_event(Event::ModelPublished {
			model: id,
			owner,
			artifact_hash,
			price,
			parent: parent.map(|link| link.model),
		});
		Ok(id)
	}

	/// Publishes the next version of `model` on behalf of its owner `who`.
	pub(crate) fn do_publish_version(
		who: T::AccountId,
		model: ModelId,
		artifact: ArtifactOf<T>,
		schema: IoSchema,
		output_rounding_bits: u8,
		agreement: Agreement,
	) -> DispatchResult {
		Self::ensure_valid_artifact(&artifact)?;
		Self::ensure_valid_interface(&schema, output_rounding_bits, &agreement)?;
		Models::<T>::try_mutate(model, |entry| {
			let info = Self::owned_and_changeable(entry, &who)?;
			let version = info
				.version
				.checked_add(1)
				.filter(|v| *v <= T::MaxVersions::get())
				.ok_or(Error::<T>::TooManyVersions)?;

			let deposit = T::VersionDeposit::get();
			T::Currency::hold(&HoldReason::ModelDeposit.into(), &who, deposit)?;

			let now = frame_system::Pallet::<T>::block_number();
			let artifact_hash = artifact.hash;
			Versions::<T>::insert(
				model,
				version,
				VersionRecord {
					artifact,
					schema,
					output_rounding_bits,
					agreement,
					published: now,
					deposit: Deposit { depositor: who.clone(), amount: deposit },
				},
			);
			info.version = version;
			info.updated = now;
			Self::deposit_event(Event::VersionPublished { model, version, artifact_hash });
			Ok(())
		})
	}

	/// The model in `entry`, if it exists, `who` owns it and it is neither retired nor delisted.
	pub(crate) fn owned_and_changeable<'a>(
		entry: &'a mut Option<ModelOf<T>>,
		who: &T::AccountId,
	) -> Result<&'a mut ModelOf<T>, DispatchError> {
		let info = entry.as_mut().ok_or(Error::<T>::ModelNotFound)?;
		ensure!(&info.owner == who, Error::<T>::NotModelOwner);
		match info.status {
			ModelStatus::Retired => Err(Error::<T>::ModelRetired.into()),
			ModelStatus::Delisted => Err(Error::<T>::ModelDelisted.into()),
			ModelStatus::Active | ModelStatus::Paused => Ok(info),
		}
	}
}
