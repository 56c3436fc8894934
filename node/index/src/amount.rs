//! Balances in the database: 16-byte big-endian blobs, which SQL orders as numbers, added by
//! the SQL functions `add128(a, b)` and `sum128(x)`.

use rusqlite::{
	functions::{Aggregate, Context, FunctionFlags},
	types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef},
	Connection, ToSql,
};
use serde::{Serialize, Serializer};

/// A balance as the index stores it and the RPC shows it (a decimal string).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub u128);

impl Amount {
	/// The blob SQL holds.
	pub fn to_blob(self) -> [u8; 16] {
		self.0.to_be_bytes()
	}

	/// Reads a blob; anything but 16 bytes is refused.
	pub fn from_blob(blob: &[u8]) -> Option<Self> {
		<[u8; 16]>::try_from(blob).ok().map(|bytes| Self(u128::from_be_bytes(bytes)))
	}
}

impl std::ops::AddAssign for Amount {
	fn add_assign(&mut self, other: Self) {
		self.0 = self.0.saturating_add(other.0);
	}
}

impl Serialize for Amount {
	fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
		serializer.collect_str(&self.0)
	}
}

impl ToSql for Amount {
	fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
		Ok(ToSqlOutput::from(self.to_blob().to_vec()))
	}
}

impl FromSql for Amount {
	fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
		match value {
			ValueRef::Blob(blob) => Self::from_blob(blob)
				.ok_or(FromSqlError::InvalidBlobSize { expected_size: 16, blob_size: blob.len() }),
			ValueRef::Null => Ok(Self(0)),
			_ => Err(FromSqlError::InvalidType),
		}
	}
}

fn argument(ctx: &Context<'_>, index: usize) -> rusqlite::Result<Amount> {
	ctx.get::<Amount>(index)
}

/// `sum128(x)`: the saturating sum of 16-byte balances (zero for no rows).
struct Sum128;

impl Aggregate<Amount, Amount> for Sum128 {
	fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Amount> {
		Ok(Amount(0))
	}

	fn step(&self, ctx: &mut Context<'_>, sum: &mut Amount) -> rusqlite::Result<()> {
		*sum += argument(ctx, 0)?;
		Ok(())
	}

	fn finalize(&self, _: &mut Context<'_>, sum: Option<Amount>) -> rusqlite::Result<Amount> {
		Ok(sum.unwrap_or_default())
	}
}

/// Registers `add128` and `sum128` on `connection`.
pub(crate) fn register(connection: &Connection) -> rusqlite::Result<()> {
	let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
	connection.create_scalar_function("add128", 2, flags, |ctx| {
		let mut sum = argument(ctx, 0)?;
		sum += argument(ctx, 1)?;
		Ok(sum)
	})?;
	connection.create_aggregate_function("sum128", 1, flags, Sum128)
}
