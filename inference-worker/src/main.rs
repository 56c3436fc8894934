//! `modelhub-worker`: the process an inference-worker operator runs beside a node.
//!
//! `exec` runs one inference locally, with no chain: model builders use it to test a model
//! before publishing, and it prints the canonical output and its hash exactly as a worker
//! would attest them.

mod engine;
mod tensor_io;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use modelhub_primitives::tensor::TensorSet;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Command-line interface of the inference worker.
#[derive(Debug, Parser)]
#[command(name = "modelhub-worker", version, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Runs one inference locally and prints the canonical output as JSON with its hash.
	Exec(ExecArgs),
}

#[derive(Debug, Args)]
struct ExecArgs {
	/// The ONNX model.
	#[arg(long)]
	model: PathBuf,
	/// An input tensor from a `.npy` file, as NAME=FILE.npy; repeat for several inputs.
	#[arg(long = "input", value_name = "NAME=FILE.npy", conflicts_with = "input_json")]
	inputs: Vec<String>,
	/// All inputs from a JSON file: {"inputs": {NAME: {"dtype", "shape", "data"}}}.
	#[arg(long, value_name = "FILE")]
	input_json: Option<PathBuf>,
	/// Also write the output JSON to this file.
	#[arg(long, value_name = "FILE")]
	output_json: Option<PathBuf>,
	/// Also write each output tensor to DIR/NAME.npy.
	#[arg(long, value_name = "DIR")]
	output_npy: Option<PathBuf>,
	/// Significant mantissa bits floats are rounded to before hashing, as the model's record
	/// on chain declares; default: the schema's, else no rounding.
	#[arg(long)]
	rounding_bits: Option<u8>,
	/// The model's schema file (`*.schema.json`): inputs and outputs are checked against it,
	/// and its `output_rounding_bits` apply.
	#[arg(long, value_name = "FILE")]
	schema: Option<PathBuf>,
	/// Intra-op threads.
	#[arg(long, default_value_t = 1)]
	threads: usize,
	/// The ONNX Runtime library (default: $ORT_DYLIB_PATH).
	#[arg(long, value_name = "FILE")]
	ort_library: Option<PathBuf>,
}

fn hex(bytes: &[u8]) -> String {
	let mut text = String::with_capacity(2 + bytes.len() * 2);
	text.push_str("0x");
	for byte in bytes {
		text.push_str(&format!("{byte:02x}"));
	}
	text
}

fn read_json(path: &Path) -> Result<Value> {
	let text =
		std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
	serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn read_inputs(args: &ExecArgs) -> Result<TensorSet> {
	if let Some(path) = &args.input_json {
		return tensor_io::set_from_json(&read_json(path)?, "inputs")
			.with_context(|| format!("inputs in {}", path.display()));
	}
	if args.inputs.is_empty() {
		bail!("give the inputs with --input NAME=FILE.npy or --input-json FILE");
	}
	let mut tensors = Vec::new();
	for spec in &args.inputs {
		let (name, file) = spec
			.split_once('=')
			.ok_or_else(|| anyhow!("--input {spec}: expected NAME=FILE.npy"))?;
		let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
		tensors.push(tensor_io::tensor_from_npy(name, &bytes).with_context(|| format!("{file}"))?);
	}
	TensorSet::new(tensors, &tensor_io::local_limits())
		.map_err(|error| anyhow!("invalid inputs: {error:?}"))
}

/// The schema of a `*.schema.json` file and its rounding bits.
fn read_schema(path: &Path) -> Result<(modelhub_primitives::schema::IoSchema, u8)> {
	use modelhub_primitives::{
		schema::{Dim, IoSchema, TensorSpec},
		tensor::DType,
	};
	let document = read_json(path)?;
	let specs = |key: &str| -> Result<Vec<TensorSpec>> {
		let list = document
			.get(key)
			.and_then(Value::as_array)
			.ok_or_else(|| anyhow!("{}: no {key:?} list", path.display()))?;
		list.iter()
			.map(|spec| {
				let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
				let dtype = spec
					.get("dtype")
					.and_then(Value::as_str)
					.and_then(DType::from_name)
					.ok_or_else(|| anyhow!("{name}: missing or unknown dtype"))?;
				let shape: Vec<Dim> = spec
					.get("shape")
					.and_then(Value::as_array)
					.ok_or_else(|| anyhow!("{name}: missing shape"))?
					.iter()
					.map(|dim| dim.as_u64().map_or(Dim::Dynamic, Dim::Fixed))
					.collect();
				TensorSpec::new(name.as_bytes(), dtype, &shape)
					.ok_or_else(|| anyhow!("{name}: invalid tensor spec"))
			})
			.collect()
	};
	let schema = IoSchema {
		inputs: specs("inputs")?.try_into().map_err(|_| anyhow!("too many inputs"))?,
		outputs: specs("outputs")?.try_into().map_err(|_| anyhow!("too many outputs"))?,
	};
	schema.validate().map_err(|error| anyhow!("{}: {error:?}", path.display()))?;
	let bits = document
		.get("output_rounding_bits")
		.and_then(Value::as_u64)
		.and_then(|bits| u8::try_from(bits).ok())
		.unwrap_or(52);
	Ok((schema, bits))
}

fn exec(args: ExecArgs) -> Result<()> {
	let schema = args.schema.as_deref().map(read_schema).transpose()?;
	let inputs = read_inputs(&args)?;
	if let Some((schema, _)) = &schema {
		schema
			.check_inputs(&inputs)
			.map_err(|error| anyhow!("inputs do not fit the schema: {error:?}"))?;
	}
	let model_bytes =
		std::fs::read(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
	let environment = engine::environment(args.ort_library.as_deref())?;
	let mut model = engine::Model::load(
		environment,
		&model_bytes,
		engine::ExecutionProfile { threads: args.threads },
	)?;
	let mut outputs = model.run(&inputs)?;
	let bits = args.rounding_bits.or(schema.as_ref().map(|(_, bits)| *bits)).unwrap_or(52);
	outputs.canonicalize_floats(bits);
	if let Some((schema, _)) = &schema {
		schema
			.check_outputs(&outputs)
			.map_err(|error| anyhow!("outputs do not fit the schema: {error:?}"))?;
	}

	let mut document = tensor_io::set_to_json(&outputs, "outputs");
	if let Value::Object(fields) = &mut document {
		fields.insert("output_hash".into(), json!(hex(&outputs.content_hash())));
		fields.insert("input_hash".into(), json!(hex(&inputs.content_hash())));
		fields
			.insert("model_hash".into(), json!(hex(&sp_crypto_hashing::blake2_256(&model_bytes))));
		fields.insert("rounding_bits".into(), json!(bits));
	}
	let text = serde_json::to_string(&document)?;
	if let Some(path) = &args.output_json {
		std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
	}
	if let Some(dir) = &args.output_npy {
		std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
		for tensor in &outputs.tensors {
			let name = String::from_utf8_lossy(&tensor.name).replace(['/', ':'], "_");
			let path = dir.join(format!("{name}.npy"));
			std::fs::write(&path, tensor_io::tensor_to_npy(tensor))
				.with_context(|| format!("writing {}", path.display()))?;
		}
	}
	println!("{text}");
	Ok(())
}

fn main() {
	let cli = Cli::parse();
	let result = match cli.command {
		Command::Exec(args) => exec(args),
	};
	if let Err(error) = result {
		eprintln!("error: {error:#}");
		std::process::exit(1);
	}
}
