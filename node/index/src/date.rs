//! UTC days: the index's unit of time series, counted from 1970-01-01.

use crate::{Error, Result};

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// The day of a timestamp in milliseconds.
pub fn day_of(timestamp: u64) -> i64 {
	i64::try_from(timestamp / DAY_MS).unwrap_or(i64::MAX)
}

/// `YYYY-MM-DD` of a day (proleptic Gregorian calendar).
pub fn format_day(day: i64) -> String {
	// Civil date from a day count (H. Hinnant's algorithm).
	let z = day + 719_468;
	let era = z.div_euclid(146_097);
	let doe = z.rem_euclid(146_097);
	let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
	let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	let mp = (5 * doy + 2) / 153;
	let d = doy - (153 * mp + 2) / 5 + 1;
	let m = if mp < 10 { mp + 3 } else { mp - 9 };
	let y = yoe + era * 400 + i64::from(m <= 2);
	format!("{y:04}-{m:02}-{d:02}")
}

/// The day of `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<i64> {
	let invalid = || Error::InvalidDate(text.to_string());
	let mut parts = text.splitn(3, '-');
	let mut next = |len: usize| -> Result<i64> {
		let part = parts.next().filter(|part| part.len() == len).ok_or_else(invalid)?;
		if !part.bytes().all(|b| b.is_ascii_digit()) {
			return Err(invalid());
		}
		part.parse().map_err(|_| invalid())
	};
	let (y, m, d) = (next(4)?, next(2)?, next(2)?);
	let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	let days_in_month = match m {
		1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
		4 | 6 | 9 | 11 => 30,
		2 if leap => 29,
		2 => 28,
		_ => return Err(invalid()),
	};
	if d < 1 || d > days_in_month {
		return Err(invalid());
	}
	let y = if m <= 2 { y - 1 } else { y };
	let era = y.div_euclid(400);
	let yoe = y.rem_euclid(400);
	let mp = if m > 2 { m - 3 } else { m + 9 };
	let doy = (153 * mp + 2) / 5 + d - 1;
	let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	Ok(era * 146_097 + doe - 719_468)
}
