//! What an inference worker declares about how it runs models: its execution profile.
//!
//! Honest workers agree bit for bit only when everything in the float path is the same. The
//! worker pins what it controls (ONNX Runtime version, graph optimization level, execution
//! provider, deterministic compute) and declares it, with the instruction-set class of its CPU
//! (which picks ONNX Runtime's kernels), when it registers. The chain stores the profile with
//! the worker, so anyone can see why two workers' outputs may differ within the model's
//! [tolerance](crate::agreement).
//!
//! With the `client` feature these types also decode from and encode to the chain's metadata
//! (`scale-decode`, `scale-encode`), so a Rust client reads and sends them as they are.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// A `major.minor.patch` version.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Default,
)]
#[cfg_attr(feature = "client", derive(scale_decode::DecodeAsType, scale_encode::EncodeAsType))]
pub struct Version {
	/// Major version.
	pub major: u16,
	/// Minor version.
	pub minor: u16,
	/// Patch version.
	pub patch: u16,
}

impl Version {
	/// Parses `major.minor.patch` (a missing part is 0; anything after a `-` or `+` is ignored).
	pub fn parse(text: &str) -> Option<Version> {
		let core = text.trim().split(['-', '+']).next()?;
		let mut parts = core.split('.');
		let mut next = || -> Option<u16> {
			match parts.next() {
				None => Some(0),
				Some(part) => part.parse().ok(),
			}
		};
		let version = Version { major: next()?, minor: next()?, patch: next()? };
		parts.next().is_none().then_some(version)
	}
}

impl core::fmt::Display for Version {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
	}
}

/// Defines an enum with one name per variant, for command lines, JSON and logs.
macro_rules! named_enum {
	(
		$(#[$meta:meta])*
		pub enum $name:ident {
			$( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
		}
	) => {
		$(#[$meta])*
		#[derive(
			Encode,
			Decode,
			DecodeWithMemTracking,
			MaxEncodedLen,
			TypeInfo,
			Clone,
			Copy,
			PartialEq,
			Eq,
			Debug,
		)]
		#[cfg_attr(
			feature = "client",
			derive(scale_decode::DecodeAsType, scale_encode::EncodeAsType)
		)]
		pub enum $name {
			$( $(#[$variant_meta])* $variant, )+
		}

		impl $name {
			/// Every variant, in declaration order.
			pub const ALL: &'static [$name] = &[$($name::$variant),+];

			/// The variant's name.
			pub fn as_str(&self) -> &'static str {
				match self {
					$($name::$variant => $text,)+
				}
			}

			/// The variant named `text`, if any.
			pub fn from_name(text: &str) -> Option<$name> {
				Self::ALL.iter().copied().find(|variant| variant.as_str() == text)
			}
		}
	};
}

named_enum! {
	/// ONNX Runtime's graph optimization levels. Levels above `Disabled` fuse and rewrite nodes
	/// (e.g. fold batch normalization into convolution weights), which changes float results in
	/// the last bits.
	pub enum GraphOptimization {
		/// No graph optimizations.
		Disabled = "disabled",
		/// Semantics-preserving rewrites: constant folding, redundant node removal, fusions.
		Basic = "basic",
		/// Basic plus complex node fusions.
		Extended = "extended",
		/// Extended plus layout optimizations (NCHWc kernels on CPU).
		Layout = "layout",
		/// Every optimization ONNX Runtime has.
		All = "all",
	}
}

named_enum! {
	/// Where ONNX Runtime runs the model.
	pub enum ExecutionProvider {
		/// ONNX Runtime's own CPU kernels (MLAS).
		Cpu = "cpu",
		/// NVIDIA CUDA.
		Cuda = "cuda",
		/// NVIDIA TensorRT.
		TensorRt = "tensorrt",
		/// AMD ROCm.
		Rocm = "rocm",
		/// Intel OpenVINO.
		OpenVino = "openvino",
		/// Apple Core ML.
		CoreMl = "coreml",
		/// DirectML.
		DirectMl = "directml",
	}
}

named_enum! {
	/// The CPU instruction-set class that selects ONNX Runtime's CPU kernels: machines of one
	/// class run the same kernels and sum in the same order.
	pub enum CpuClass {
		/// Not one of the classes below.
		Other = "other",
		/// x86-64 with SSE2 at most.
		X86_64 = "x86-64",
		/// x86-64 with AVX.
		X86_64Avx = "x86-64-avx",
		/// x86-64 with AVX2 and FMA.
		X86_64Avx2 = "x86-64-avx2",
		/// x86-64 with AVX-512 (F).
		X86_64Avx512 = "x86-64-avx512",
		/// 64-bit ARM with NEON.
		Aarch64 = "aarch64",
		/// 64-bit ARM with SVE.
		Aarch64Sve = "aarch64-sve",
	}
}

/// How a worker runs models: everything it controls in the float path, and its CPU class.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
#[cfg_attr(feature = "client", derive(scale_decode::DecodeAsType, scale_encode::EncodeAsType))]
pub struct ExecutionProfile {
	/// The ONNX Runtime library's version.
	pub onnx_runtime: Version,
	/// The graph optimization level of every session.
	pub graph_optimization: GraphOptimization,
	/// The execution provider.
	pub execution_provider: ExecutionProvider,
	/// Whether ONNX Runtime's deterministic compute is on.
	pub deterministic_compute: bool,
	/// Intra-op threads per execution.
	pub intra_op_threads: u16,
	/// The CPU's instruction-set class.
	pub cpu_class: CpuClass,
}

impl ExecutionProfile {
	/// ONNX Runtime 1.31.1 on CPU, graph optimizations `All`, deterministic compute, one
	/// thread, CPU class unknown: what a worker runs unless told otherwise.
	pub const DEFAULT: ExecutionProfile = ExecutionProfile {
		onnx_runtime: Version { major: 1, minor: 31, patch: 1 },
		graph_optimization: GraphOptimization::All,
		execution_provider: ExecutionProvider::Cpu,
		deterministic_compute: true,
		intra_op_threads: 1,
		cpu_class: CpuClass::Other,
	};
}

impl Default for ExecutionProfile {
	fn default() -> Self {
		Self::DEFAULT
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::{Decode, Encode};

	#[test]
	fn versions_parse_from_release_strings() {
		let version = |major, minor, patch| Some(Version { major, minor, patch });
		assert_eq!(Version::parse("1.31.1"), version(1, 31, 1));
		assert_eq!(Version::parse(" 1.31.1-dev+abc "), version(1, 31, 1));
		assert_eq!(Version::parse("2"), version(2, 0, 0));
		assert_eq!(Version { major: 1, minor: 31, patch: 1 }.to_string(), "1.31.1");
		for bad in ["", "1.x.1", "1.2.3.4", "70000.0.0", "-1"] {
			assert_eq!(Version::parse(bad), None, "{bad:?}");
		}
	}

	#[test]
	fn names_round_trip_and_are_unique() {
		fn check<T: Copy + PartialEq + core::fmt::Debug>(
			all: &[T],
			name: fn(&T) -> &'static str,
			parse: fn(&str) -> Option<T>,
		) {
			for (index, variant) in all.iter().enumerate() {
				assert_eq!(parse(name(variant)), Some(*variant));
				assert!(all[..index].iter().all(|earlier| name(earlier) != name(variant)));
			}
			assert_eq!(parse("nonsense"), None);
		}
		check(GraphOptimization::ALL, GraphOptimization::as_str, GraphOptimization::from_name);
		check(ExecutionProvider::ALL, ExecutionProvider::as_str, ExecutionProvider::from_name);
		check(CpuClass::ALL, CpuClass::as_str, CpuClass::from_name);
	}

	#[test]
	fn the_profile_encodes_in_a_fixed_size() {
		let profile = ExecutionProfile {
			graph_optimization: GraphOptimization::Disabled,
			cpu_class: CpuClass::X86_64Avx2,
			intra_op_threads: 4,
			..ExecutionProfile::DEFAULT
		};
		let bytes = profile.encode();
		assert_eq!(bytes.len(), ExecutionProfile::max_encoded_len());
		assert_eq!(ExecutionProfile::decode(&mut &bytes[..]).ok(), Some(profile));
	}
}
