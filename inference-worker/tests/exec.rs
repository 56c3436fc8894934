//! `modelhub-worker exec` against ONNX Runtime's own answers: the outputs the Python
//! `onnxruntime` package gives for the same model and input, computed on this machine when the
//! test runs (`scripts/make-worker-fixtures.py --expected`), since floating-point outputs differ
//! in their last bits from one CPU to another.

use modelhub_primitives::{
	agreement::{Agreement, Closeness},
	tensor::{DType, Limits, Tensor, TensorSet},
};
use serde_json::Value;

#[path = "hub/distance.rs"]
mod distance;
use distance::Distance;
use std::{
	path::{Path, PathBuf},
	process::Command,
};

/// This crate's directory, from the `CARGO_MANIFEST_DIR` that `cargo test` sets when it runs
/// the test (right even for a binary that the shared target directory kept from another clone),
/// else from compile time.
fn manifest_dir() -> PathBuf {
	std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn root() -> PathBuf {
	manifest_dir().parent().expect("workspace root").to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
	manifest_dir().join("tests/fixtures").join(name)
}

fn sample(name: &str) -> PathBuf {
	root().join("scripts/sample-models").join(name)
}

fn read_json(path: &Path) -> Value {
	serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON")
}

/// Runs the worker binary with `args`; returns (success, stdout, stderr).
fn worker(args: &[&str]) -> (bool, String, String) {
	let output = Command::new(env!("CARGO_BIN_EXE_modelhub-worker"))
		.args(args)
		.output()
		.expect("the worker binary runs");
	(
		output.status.success(),
		String::from_utf8_lossy(&output.stdout).into_owned(),
		String::from_utf8_lossy(&output.stderr).into_owned(),
	)
}

fn exec_json(model: &Path, input: &Path, extra: &[&str]) -> Value {
	let mut args = vec!["exec", "--model", model.to_str().expect("utf-8"), "--input-json"];
	args.push(input.to_str().expect("utf-8"));
	args.extend_from_slice(extra);
	let (ok, stdout, stderr) = worker(&args);
	assert!(ok, "exec failed: {stderr}");
	serde_json::from_str(&stdout).expect("exec prints JSON")
}

/// Whether two JSON values hold the same number (or are equal), whatever their notation.
fn same(a: &Value, b: &Value) -> bool {
	match (a, b) {
		(Value::Number(x), Value::Number(y)) => {
			if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
				x == y
			} else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
				x == y
			} else {
				x.as_f64() == y.as_f64()
			}
		},
		(Value::Array(x), Value::Array(y)) => {
			x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
		},
		_ => a == b,
	}
}

/// The sorted output names of an `exec` result.
fn output_names(result: &Value) -> Vec<String> {
	let mut names: Vec<String> =
		result["outputs"].as_object().expect("outputs").keys().cloned().collect();
	names.sort();
	names
}

/// Compares outputs: same names, dtypes, shapes and values.
fn assert_outputs_equal(actual: &Value, expected: &Value) {
	assert_eq!(output_names(actual), output_names(expected));
	for name in output_names(expected) {
		let (a, e) = (&actual["outputs"][&name], &expected["outputs"][&name]);
		assert_eq!(a["dtype"], e["dtype"], "{name}");
		assert_eq!(a["shape"], e["shape"], "{name}");
		assert!(same(&a["data"], &e["data"]), "{name}: {} vs {}", a["data"], e["data"]);
	}
}

/// Compares outputs as the chain's default agreement rule does: same names, dtypes and shapes,
/// integers and booleans equal, floats within [`Agreement::DEFAULT`]'s tolerance.
fn assert_outputs_agree(actual: &Value, expected: &Value, what: &str) {
	assert_eq!(output_names(actual), output_names(expected), "{what}");
	for name in output_names(expected) {
		let (a, e) = (&actual["outputs"][&name], &expected["outputs"][&name]);
		assert_eq!(a["dtype"], e["dtype"], "{what} {name}");
		assert_eq!(a["shape"], e["shape"], "{what} {name}");
		if e["dtype"] == "f32" {
			let (a_values, a_set) = f32_output(actual, &name);
			let (e_values, e_set) = f32_output(expected, &name);
			let distance = Distance::of(&a_values, &e_values);
			println!("{what} {name}, worker vs onnxruntime in Python: {distance}");
			assert_eq!(
				Agreement::DEFAULT.compare(&e_set, &a_set),
				Closeness::Within,
				"{what} {name}: {distance}"
			);
		} else {
			assert!(
				!matches!(e["dtype"].as_str(), Some("f64" | "f16")),
				"{what} {name}: compare {} outputs too",
				e["dtype"]
			);
			assert!(same(&a["data"], &e["data"]), "{what} {name}: {} vs {}", a["data"], e["data"]);
		}
	}
}

/// What ONNX Runtime's Python package computes on this machine for `model` on `input` with
/// `threads` intra-op threads, in the worker's JSON form. The venv is `$MODELHUB_VENV`
/// (`scripts/setup.sh` makes it; `scripts/test.sh` points the tests at it).
fn onnx_runtime_in_python(model: &Path, input: &Path, threads: &str) -> Value {
	let venv = std::env::var_os("MODELHUB_VENV").map(PathBuf::from).unwrap_or_else(|| {
		PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/modelhub/venv")
	});
	let python = venv.join("bin/python");
	let output = Command::new(&python)
		.arg(root().join("scripts/make-worker-fixtures.py"))
		.arg("--expected")
		.args([model, input])
		.args(["--threads", threads])
		.output()
		.unwrap_or_else(|error| {
			panic!("{}: {error}; scripts/setup.sh installs it", python.display())
		});
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn every_dtype_goes_through_a_model_unchanged() {
	let input = fixture("identity.input.json");
	let out = exec_json(&fixture("identity.onnx"), &input, &[]);
	assert_outputs_equal(&out, &read_json(&fixture("identity.expected.json")));
	// Unrounded, the outputs are exactly the inputs.
	let inputs = read_json(&input);
	for (name, tensor) in inputs["inputs"].as_object().expect("inputs") {
		let output = &out["outputs"][name.replace("in_", "out_")];
		assert!(
			same(&output["data"], &tensor["data"]),
			"{name}: {} vs {}",
			output["data"],
			tensor["data"]
		);
	}
	for key in ["output_hash", "input_hash", "model_hash"] {
		let hash = out[key].as_str().expect("hash");
		assert!(hash.starts_with("0x") && hash.len() == 66, "{key}: {hash}");
	}
}

#[test]
fn sample_models_agree_with_onnx_runtime_in_python_on_this_machine() {
	for name in ["linear", "digits", "cnn"] {
		let (model, input) =
			(sample(&format!("{name}.onnx")), sample(&format!("{name}.input.json")));
		for threads in ["1", "2"] {
			let out = exec_json(&model, &input, &["--rounding-bits", "23", "--threads", threads]);
			let expected = onnx_runtime_in_python(&model, &input, threads);
			assert_outputs_agree(&out, &expected, &format!("{name} ({threads} threads)"));
		}
	}
}

#[test]
fn rounding_follows_the_schema_and_changes_the_hash() {
	let model = sample("digits.onnx");
	let input = sample("digits.input.json");
	let schema = sample("digits.schema.json");
	let full = exec_json(&model, &input, &["--rounding-bits", "23"]);
	let rounded = exec_json(&model, &input, &["--schema", schema.to_str().expect("utf-8")]);
	assert_eq!(rounded["rounding_bits"], 16);
	assert_ne!(full["output_hash"], rounded["output_hash"]);
	let again = exec_json(&model, &input, &["--rounding-bits", "16", "--threads", "2"]);
	assert_eq!(again["output_hash"], rounded["output_hash"]);
	assert_eq!(rounded["outputs"]["label"], full["outputs"]["label"]);
}

#[test]
fn npy_inputs_and_outputs_work_like_json() {
	let dir = std::env::temp_dir().join(format!("modelhub-worker-npy-{}", std::process::id()));
	std::fs::create_dir_all(&dir).expect("temp dir");
	let model = fixture("identity.onnx");
	let via_json = exec_json(
		&model,
		&fixture("identity.input.json"),
		&["--output-npy", dir.to_str().expect("utf-8")],
	);
	// Feed the written outputs back in as inputs.
	let mut args = vec!["exec".to_string(), "--model".into(), model.display().to_string()];
	for name in ["f32", "f64", "f16", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "bool"]
	{
		args.push("--input".into());
		args.push(format!("in_{name}={}", dir.join(format!("out_{name}.npy")).display()));
	}
	let args: Vec<&str> = args.iter().map(String::as_str).collect();
	let (ok, stdout, stderr) = worker(&args);
	assert!(ok, "{stderr}");
	let via_npy: Value = serde_json::from_str(&stdout).expect("JSON");
	assert_eq!(via_npy["output_hash"], via_json["output_hash"]);
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_models_and_inputs_fail_with_a_message_not_a_crash() {
	let garbage =
		std::env::temp_dir().join(format!("modelhub-garbage-{}.onnx", std::process::id()));
	std::fs::write(&garbage, b"not an onnx model").expect("write");
	let input = sample("linear.input.json");
	let cases: Vec<(Vec<String>, &str)> = vec![
		(
			vec![
				"--model".into(),
				garbage.display().to_string(),
				"--input-json".into(),
				input.display().to_string(),
			],
			"could not load the model",
		),
		(
			vec![
				"--model".into(),
				sample("digits.onnx").display().to_string(),
				"--input-json".into(),
				input.display().to_string(),
			],
			"the model has no input x; it takes float_input f32[?, 64]",
		),
		(vec!["--model".into(), sample("linear.onnx").display().to_string()], "give the inputs"),
		(
			vec![
				"--model".into(),
				sample("linear.onnx").display().to_string(),
				"--input-json".into(),
				input.display().to_string(),
				"--schema".into(),
				sample("digits.schema.json").display().to_string(),
			],
			"do not fit the schema",
		),
	];
	for (args, message) in cases {
		let mut full = vec!["exec".to_string()];
		full.extend(args);
		let full: Vec<&str> = full.iter().map(String::as_str).collect();
		let (ok, _, stderr) = worker(&full);
		assert!(!ok, "{full:?} succeeded");
		assert!(stderr.contains(message), "{full:?}: {stderr}");
		assert!(!stderr.contains("panicked"), "{stderr}");
	}
	let _ = std::fs::remove_file(&garbage);
}

/// The f32 output `name` of an `exec` result: its values, and as a canonical tensor set.
fn f32_output(result: &Value, name: &str) -> (Vec<f32>, TensorSet) {
	let output = &result["outputs"][name];
	assert_eq!(output["dtype"], "f32", "{name}");
	let shape: Vec<u64> =
		output["shape"].as_array().expect("shape").iter().filter_map(Value::as_u64).collect();
	let values: Vec<f32> = output["data"]
		.as_array()
		.expect("data")
		.iter()
		.map(|value| value.as_f64().expect("number") as f32)
		.collect();
	let tensor = Tensor {
		name: name.as_bytes().to_vec(),
		dtype: DType::F32,
		shape,
		data: values.iter().flat_map(|value| value.to_le_bytes()).collect(),
	};
	let set = TensorSet::new(vec![tensor], &Limits::default()).expect("a valid tensor set");
	(values, set)
}

#[test]
fn graph_optimization_levels_change_the_last_bits_within_the_default_tolerance() {
	let (model, input) = (sample("cnn.onnx"), sample("cnn.input.json"));
	let run = |level: &str| {
		exec_json(&model, &input, &["--rounding-bits", "23", "--graph-optimization", level])
	};
	let (all, disabled) = (run("all"), run("disabled"));
	// The output names the profile it was computed under.
	assert_eq!(all["profile"]["graph_optimization"], "all");
	assert_eq!(disabled["profile"]["graph_optimization"], "disabled");
	assert_eq!(all["profile"]["execution_provider"], "cpu");
	assert_eq!(all["profile"]["deterministic_compute"], true);
	if let Ok(version) = std::env::var("ONNXRUNTIME_VERSION") {
		assert_eq!(all["profile"]["onnx_runtime"], version.as_str());
	}
	// Both honest, yet not bit for bit the same: the hashes differ.
	assert_ne!(all["output_hash"], disabled["output_hash"]);
	let (a, a_set) = f32_output(&all, "logits");
	let (b, b_set) = f32_output(&disabled, "logits");
	assert_eq!(Agreement::DEFAULT.compare(&a_set, &b_set), Closeness::Within);
	assert_eq!(Agreement::DEFAULT.compare(&b_set, &a_set), Closeness::Within);
	// An all-zero answer (what a lazy or lying worker sends) is beyond the fraud margin.
	let zeros = Value::from(a.iter().map(|_| 0.0).collect::<Vec<f64>>());
	let mut lie = all.clone();
	lie["outputs"]["logits"]["data"] = zeros;
	let (_, lie_set) = f32_output(&lie, "logits");
	assert_eq!(Agreement::DEFAULT.compare(&a_set, &lie_set), Closeness::Beyond);

	let distance = Distance::of(&a, &b);
	println!("cnn logits, graph optimization all vs disabled: {distance}");
	assert!(distance.differing > 0);

	let (ok, _, stderr) = worker(&[
		"exec",
		"--model",
		model.to_str().expect("utf-8"),
		"--input-json",
		input.to_str().expect("utf-8"),
		"--graph-optimization",
		"fastest",
	]);
	assert!(!ok);
	assert!(stderr.contains("expected one of disabled, basic, extended, layout, all"), "{stderr}");
}
