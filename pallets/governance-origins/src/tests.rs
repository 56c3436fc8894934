//! Each ensure admits its own origin and hands every other origin back unchanged.

use crate::{EnsureModelModeration, EnsureProtocolParameters, Origin};
use frame_support::traits::EnsureOrigin;

/// An origin as a runtime sees it: one of the governance origins, or something else.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Outer {
	Governance(Origin),
	Root,
}

impl From<Origin> for Outer {
	fn from(origin: Origin) -> Self {
		Outer::Governance(origin)
	}
}

impl From<Outer> for Result<Origin, Outer> {
	fn from(outer: Outer) -> Self {
		match outer {
			Outer::Governance(origin) => Ok(origin),
			other => Err(other),
		}
	}
}

#[test]
fn each_track_origin_admits_only_itself() {
	let parameters = Outer::Governance(Origin::ProtocolParameters);
	let moderation = Outer::Governance(Origin::ModelModeration);
	assert_eq!(EnsureProtocolParameters::try_origin(parameters.clone()), Ok(()));
	assert_eq!(EnsureModelModeration::try_origin(moderation.clone()), Ok(()));
	assert_eq!(EnsureProtocolParameters::try_origin(moderation.clone()), Err(moderation));
	assert_eq!(EnsureModelModeration::try_origin(parameters.clone()), Err(parameters));
	assert_eq!(EnsureProtocolParameters::try_origin(Outer::Root), Err(Outer::Root));
	assert_eq!(EnsureModelModeration::try_origin(Outer::Root), Err(Outer::Root));
}
