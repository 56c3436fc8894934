//! Running ONNX models with ONNX Runtime (through `ort`, loading the shared library at run
//! time) on canonical tensor sets.
//!
//! Everything the worker controls in the float path is fixed: sequential execution, a set
//! number of intra-op threads, one graph optimization level (`All` unless chosen otherwise),
//! deterministic compute where ONNX Runtime offers it, the CPU execution provider (with its
//! default arena allocator). [`Settings::declared`] is the execution profile the worker declares
//! on chain: these settings, the loaded library's version and the CPU's instruction-set class.

use anyhow::{anyhow, bail, Context, Result};
use modelhub_primitives::{
	tensor::{DType, Tensor, TensorSet},
	worker::{CpuClass, ExecutionProfile, ExecutionProvider, GraphOptimization, Version},
};
use ort::{
	environment::Environment,
	memory::Allocator,
	session::{builder::GraphOptimizationLevel, Session},
	value::{DynTensor, DynTensorValueType, TensorElementType, ValueType},
};
use std::{path::Path, sync::OnceLock};

/// The one ONNX Runtime environment of the process.
static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();

/// The path of the ONNX Runtime library the environment loaded.
static LIBRARY_PATH: OnceLock<std::path::PathBuf> = OnceLock::new();

/// The version of the ONNX Runtime library the environment loaded.
static LIBRARY_VERSION: OnceLock<Version> = OnceLock::new();

/// The version the ONNX Runtime library at `path` reports
/// (`OrtGetApiBase()->GetVersionString()`).
fn library_version(path: &Path) -> Result<Version> {
	/// `OrtApiBase` of the ONNX Runtime C API.
	#[repr(C)]
	struct ApiBase {
		_get_api: unsafe extern "C" fn(u32) -> *const std::ffi::c_void,
		get_version_string: unsafe extern "C" fn() -> *const std::ffi::c_char,
	}
	// SAFETY: the library is ONNX Runtime, already loaded (and kept loaded) by `ort`; this
	// takes one more reference to it and calls the C API's version function, which returns a
	// static NUL-terminated string.
	let text = unsafe {
		let library = libloading::Library::new(path)?;
		let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ApiBase> =
			library.get(b"OrtGetApiBase")?;
		let base = get_base();
		if base.is_null() {
			bail!("{}: OrtGetApiBase returned nothing", path.display());
		}
		let text = ((*base).get_version_string)();
		if text.is_null() {
			bail!("{}: ONNX Runtime reports no version", path.display());
		}
		std::ffi::CStr::from_ptr(text).to_string_lossy().into_owned()
	};
	Version::parse(&text)
		.ok_or_else(|| anyhow!("{}: unreadable ONNX Runtime version {text:?}", path.display()))
}

/// The version of the loaded ONNX Runtime library; call [`environment`] first.
pub fn onnx_runtime_version() -> Result<Version> {
	LIBRARY_VERSION.get().copied().ok_or_else(|| anyhow!("ONNX Runtime is not loaded"))
}

/// The path of the loaded ONNX Runtime library; call [`environment`] first.
pub fn library_path() -> Result<std::path::PathBuf> {
	LIBRARY_PATH.get().cloned().ok_or_else(|| anyhow!("ONNX Runtime is not loaded"))
}

/// The instruction-set class of this CPU, as ONNX Runtime's CPU kernels tell them apart.
pub fn cpu_class() -> CpuClass {
	#[cfg(target_arch = "x86_64")]
	{
		if std::arch::is_x86_feature_detected!("avx512f") {
			CpuClass::X86_64Avx512
		} else if std::arch::is_x86_feature_detected!("avx2")
			&& std::arch::is_x86_feature_detected!("fma")
		{
			CpuClass::X86_64Avx2
		} else if std::arch::is_x86_feature_detected!("avx") {
			CpuClass::X86_64Avx
		} else {
			CpuClass::X86_64
		}
	}
	#[cfg(target_arch = "aarch64")]
	{
		if std::arch::is_aarch64_feature_detected!("sve") {
			CpuClass::Aarch64Sve
		} else {
			CpuClass::Aarch64
		}
	}
	#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
	{
		CpuClass::Other
	}
}

/// The ONNX Runtime environment, loading the library from `library` (or `ORT_DYLIB_PATH`)
/// the first time.
pub fn environment(library: Option<&Path>) -> Result<&'static Environment> {
	if let Some(environment) = ENVIRONMENT.get() {
		return Ok(environment);
	}
	let path = match library {
		Some(path) => path.to_path_buf(),
		None => std::env::var_os("ORT_DYLIB_PATH")
			.filter(|value| !value.is_empty())
			.map(Into::into)
			.ok_or_else(|| {
				anyhow!("ONNX Runtime not found: set ORT_DYLIB_PATH to libonnxruntime.so.1.31.1")
			})?,
	};
	if !path.is_file() {
		bail!("ONNX Runtime library {} does not exist", path.display());
	}
	let builder = ort::init_from(&path)
		.map_err(|error| anyhow!("loading ONNX Runtime from {}: {error}", path.display()))?;
	let version = library_version(&path)?;
	let environment = builder
		.with_name("modelhub-worker")
		.with_telemetry(false)
		.build()
		.context("creating the ONNX Runtime environment")?;
	let _ = LIBRARY_VERSION.set(version);
	let _ = LIBRARY_PATH.set(path);
	Ok(ENVIRONMENT.get_or_init(|| environment))
}

/// The `ort` element type of a protocol dtype.
pub fn element_type(dtype: DType) -> TensorElementType {
	match dtype {
		DType::F32 => TensorElementType::Float32,
		DType::F64 => TensorElementType::Float64,
		DType::F16 => TensorElementType::Float16,
		DType::I8 => TensorElementType::Int8,
		DType::I16 => TensorElementType::Int16,
		DType::I32 => TensorElementType::Int32,
		DType::I64 => TensorElementType::Int64,
		DType::U8 => TensorElementType::Uint8,
		DType::U16 => TensorElementType::Uint16,
		DType::U32 => TensorElementType::Uint32,
		DType::U64 => TensorElementType::Uint64,
		DType::Bool => TensorElementType::Bool,
	}
}

/// The protocol dtype of an `ort` element type, if the protocol has one.
pub fn dtype_of(element: TensorElementType) -> Option<DType> {
	DType::ALL.into_iter().find(|dtype| element_type(*dtype) == element)
}

/// One declared input or output of a loaded model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
	/// Its name.
	pub name: String,
	/// Its element type, if the protocol has it.
	pub dtype: Option<DType>,
	/// Its dimensions; `None` where dynamic.
	pub shape: Vec<Option<u64>>,
}

/// How the worker runs models: the settings it chooses.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
	/// Intra-op threads.
	pub threads: usize,
	/// Graph optimization level.
	pub graph_optimization: GraphOptimization,
}

impl Default for Settings {
	fn default() -> Self {
		Self { threads: 1, graph_optimization: GraphOptimization::All }
	}
}

impl Settings {
	/// The execution profile these settings give with the loaded ONNX Runtime on this CPU.
	pub fn declared(&self) -> Result<ExecutionProfile> {
		Ok(ExecutionProfile {
			onnx_runtime: onnx_runtime_version()?,
			graph_optimization: self.graph_optimization,
			execution_provider: ExecutionProvider::Cpu,
			deterministic_compute: true,
			intra_op_threads: u16::try_from(self.threads.max(1)).unwrap_or(u16::MAX),
			cpu_class: cpu_class(),
		})
	}
}

/// ONNX Runtime's name for a graph optimization level.
fn optimization_level(level: GraphOptimization) -> GraphOptimizationLevel {
	match level {
		GraphOptimization::Disabled => GraphOptimizationLevel::Disable,
		GraphOptimization::Basic => GraphOptimizationLevel::Level1,
		GraphOptimization::Extended => GraphOptimizationLevel::Level2,
		GraphOptimization::Layout => GraphOptimizationLevel::Level3,
		GraphOptimization::All => GraphOptimizationLevel::All,
	}
}

/// A loaded model, ready to run.
pub struct Model {
	session: Session,
	inputs: Vec<Port>,
}

fn ports(outlets: &[ort::value::Outlet]) -> Vec<Port> {
	outlets
		.iter()
		.map(|outlet| match outlet.dtype() {
			ValueType::Tensor { ty, shape, .. } => Port {
				name: outlet.name().to_string(),
				dtype: dtype_of(*ty),
				shape: shape.iter().map(|dim| u64::try_from(*dim).ok()).collect(),
			},
			_ => Port { name: outlet.name().to_string(), dtype: None, shape: Vec::new() },
		})
		.collect()
}

/// Builds a session with the pinned execution settings.
fn build_session(
	environment: &Environment,
	bytes: &[u8],
	settings: Settings,
) -> ort::Result<Session> {
	Session::builder(environment)?
		.with_optimization_level(optimization_level(settings.graph_optimization))?
		.with_intra_threads(settings.threads.max(1))?
		.with_inter_threads(1)?
		.with_parallel_execution(false)?
		.with_deterministic_compute(true)?
		.with_execution_providers([ort::ep::CPU::default().build()])?
		.commit_from_memory(bytes)
}

impl Model {
	/// Loads an ONNX model from its bytes.
	pub fn load(environment: &Environment, bytes: &[u8], settings: Settings) -> Result<Self> {
		let session = build_session(environment, bytes, settings)
			.context("ONNX Runtime could not load the model")?;
		let inputs = ports(session.inputs());
		Ok(Self { session, inputs })
	}

	/// Checks `inputs` against the model's declared inputs: the same names, dtypes and
	/// ranks, and every fixed dimension equal.
	fn check_inputs(&self, inputs: &TensorSet) -> Result<()> {
		let describe = |port: &Port| {
			let dims: Vec<String> = port
				.shape
				.iter()
				.map(|dim| dim.map_or_else(|| "?".to_string(), |d| d.to_string()))
				.collect();
			let dtype = port.dtype.map_or("unsupported", |dtype| dtype.name());
			format!("{} {dtype}[{}]", port.name, dims.join(", "))
		};
		let expected = || self.inputs.iter().map(describe).collect::<Vec<_>>().join("; ");
		for tensor in &inputs.tensors {
			let name = String::from_utf8_lossy(&tensor.name);
			let port =
				self.inputs.iter().find(|port| port.name == name).ok_or_else(|| {
					anyhow!("the model has no input {name}; it takes {}", expected())
				})?;
			let fits = port.dtype == Some(tensor.dtype)
				&& port.shape.len() == tensor.shape.len()
				&& port
					.shape
					.iter()
					.zip(&tensor.shape)
					.all(|(want, have)| want.is_none_or(|w| w == *have));
			if !fits {
				bail!(
					"input {name} is {}{:?}; the model takes {}",
					tensor.dtype.name(),
					tensor.shape,
					describe(port)
				);
			}
		}
		if let Some(missing) = self
			.inputs
			.iter()
			.find(|port| !inputs.tensors.iter().any(|t| t.name == port.name.as_bytes()))
		{
			bail!("input {} is missing; the model takes {}", missing.name, expected());
		}
		Ok(())
	}

	/// Runs the model on `inputs` and returns every output as a canonical tensor set.
	pub fn run(&mut self, inputs: &TensorSet) -> Result<TensorSet> {
		self.check_inputs(inputs)?;
		let allocator = Allocator::default();
		let mut values: Vec<(String, DynTensor)> = Vec::with_capacity(inputs.tensors.len());
		for tensor in &inputs.tensors {
			let name = String::from_utf8_lossy(&tensor.name).into_owned();
			let shape: Vec<i64> = tensor
				.shape
				.iter()
				.map(|dim| i64::try_from(*dim).map_err(|_| anyhow!("{name}: dimension too large")))
				.collect::<Result<_>>()?;
			let mut value = DynTensor::new(&allocator, element_type(tensor.dtype), shape)
				.with_context(|| format!("allocating input {name}"))?;
			if !tensor.data.is_empty() {
				let target = value.data_ptr_mut().cast::<u8>();
				if target.is_null() {
					bail!("ONNX Runtime gave input {name} no buffer");
				}
				// SAFETY: `DynTensor::new` allocated exactly the element count of `shape` times
				// the element size, which `TensorSet` validation made equal to `data.len()`.
				unsafe {
					std::ptr::copy_nonoverlapping(tensor.data.as_ptr(), target, tensor.data.len())
				};
			}
			values.push((name, value));
		}

		let outputs = self.session.run(values).context("ONNX Runtime failed to run the model")?;
		let mut tensors = Vec::with_capacity(outputs.len());
		for (name, value) in outputs.iter() {
			let tensor = value
				.downcast::<DynTensorValueType>()
				.with_context(|| format!("output {name} is not a tensor"))?;
			let element = *tensor.data_type();
			let dtype = dtype_of(element)
				.ok_or_else(|| anyhow!("output {name} has type {element}, outside the protocol"))?;
			if !tensor.memory_info().is_cpu_accessible() {
				bail!("output {name} is not in CPU memory");
			}
			let shape: Vec<u64> = tensor
				.shape()
				.iter()
				.map(|dim| {
					u64::try_from(*dim).map_err(|_| anyhow!("output {name}: negative dimension"))
				})
				.collect::<Result<_>>()?;
			let count = shape.iter().product::<u64>() as usize;
			let length = count * dtype.size();
			let source = tensor.data_ptr().cast::<u8>();
			let data = if length == 0 || source.is_null() {
				Vec::new()
			} else {
				// SAFETY: a CPU tensor of `count` elements of `dtype` holds `length` bytes.
				unsafe { std::slice::from_raw_parts(source, length) }.to_vec()
			};
			tensors.push(Tensor { name: name.as_bytes().to_vec(), dtype, shape, data });
		}
		TensorSet::new(tensors, &crate::tensor_io::local_limits())
			.map_err(|error| anyhow!("the model's outputs are not a valid tensor set: {error:?}"))
	}
}
