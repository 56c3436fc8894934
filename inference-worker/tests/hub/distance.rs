//! How far apart two float outputs are, in the terms `docs/protocol.md` uses.

#![allow(dead_code)]

use std::fmt;

/// The distance between two equally long f32 outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distance {
	/// Elements compared.
	pub elements: usize,
	/// Elements that differ at all.
	pub differing: usize,
	/// The largest magnitude in either output.
	pub largest_magnitude: f64,
	/// The largest difference of two elements.
	pub widest: f64,
	/// The largest difference of two elements in units in the last place.
	pub ulps: i64,
}

/// `x` as an integer that orders floats as numbers: the difference of two is their distance
/// in units in the last place.
fn ordered(x: f32) -> i64 {
	let magnitude = i64::from(x.to_bits() & 0x7fff_ffff);
	if x.is_sign_negative() {
		-magnitude
	} else {
		magnitude
	}
}

impl Distance {
	/// The distance between `a` and `b`, element by element.
	pub fn of(a: &[f32], b: &[f32]) -> Self {
		assert_eq!(a.len(), b.len(), "outputs of different lengths");
		let pairs = || a.iter().zip(b);
		Self {
			elements: a.len(),
			differing: pairs().filter(|(x, y)| x != y).count(),
			largest_magnitude: a.iter().chain(b).map(|x| f64::from(x.abs())).fold(0.0, f64::max),
			widest: pairs().map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs()).fold(0.0, f64::max),
			ulps: pairs().map(|(x, y)| (ordered(*x) - ordered(*y)).abs()).max().unwrap_or(0),
		}
	}

	/// The widest difference as a share of the largest magnitude.
	pub fn relative(&self) -> f64 {
		if self.largest_magnitude > 0.0 {
			self.widest / self.largest_magnitude
		} else {
			0.0
		}
	}
}

impl fmt::Display for Distance {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(
			f,
			"{} of {} elements differ, by at most {:.3e} ({:.3e} of the largest magnitude {:.4}) \
			 and {} ULPs",
			self.differing,
			self.elements,
			self.widest,
			self.relative(),
			self.largest_magnitude,
			self.ulps
		)
	}
}

/// The f32 values of little-endian tensor data.
pub fn f32_values(data: &[u8]) -> Vec<f32> {
	data.chunks_exact(4)
		.map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
		.collect()
}
