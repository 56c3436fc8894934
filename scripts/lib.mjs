// Shared helpers of the project's @polkadot/api clients: argument parsing, connection,
// signing, and waiting for a transaction with a bounded timeout.
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';

export const OPG_DECIMALS = 18n;

/**
 * Parses `--key value` pairs (repeatable keys collect into arrays), `--flag`s (set to `true`)
 * and positional args.
 */
export function parseArgs(argv, { repeatable = [], flags = [] } = {}) {
  const options = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (flags.includes(key)) {
      options[key] = true;
      continue;
    }
    const value = inline !== undefined ? inline : argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    if (repeatable.includes(key)) (options[key] ??= []).push(value);
    else options[key] = value;
  }
  return { options, positional };
}

/** Converts a decimal OPG amount ("1.5") into its smallest unit as a BigInt. */
export function parseOpg(text) {
  const match = /^(\d+)(?:\.(\d{0,18}))?$/.exec(String(text).trim());
  if (!match) throw new Error(`not an OPG amount: ${text}`);
  const fraction = (match[2] ?? '').padEnd(Number(OPG_DECIMALS), '0');
  return BigInt(match[1]) * 10n ** OPG_DECIMALS + BigInt(fraction || '0');
}

/** Formats a smallest-unit amount as decimal OPG. */
export function formatOpg(units) {
  const value = BigInt(units);
  const whole = value / 10n ** OPG_DECIMALS;
  const fraction = (value % 10n ** OPG_DECIMALS).toString().padStart(Number(OPG_DECIMALS), '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction} OPG` : `${whole} OPG`;
}

/** Converts a percentage ("12.5") into Permill parts (125000). */
export function parsePercent(text) {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new Error(`not a percentage: ${text}`);
  return Math.round(value * 10_000);
}

const DTYPES = ['f32', 'f64', 'f16', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool'];

/** A tensor spec of a `.schema.json` file (`{name, dtype, shape: [n | null]}`) as the chain's type. */
export function specOf(entry) {
  if (!DTYPES.includes(entry.dtype)) throw new Error(`unknown dtype ${entry.dtype}`);
  return {
    name: entry.name,
    dtype: entry.dtype.toUpperCase(),
    shape: entry.shape.map((d) => (d === null || d === '?' ? 'Dynamic' : { Fixed: d })),
  };
}

/** A royalty split from `ADDR=PERCENT` entries, as the chain's `(AccountId, Permill)` pairs. */
export function parseRoyalties(entries) {
  return entries.map((entry) => {
    const [who, share] = entry.split('=');
    return [accountOf(who), parsePercent(share)];
  });
}

/**
 * The agreement rule of a `.schema.json` file's optional `agreement` entry
 * (`{ "absolute": 5e-6, "relative": 5e-5, "fraud_margin": 100 }`: tolerance parts as fractions)
 * as the chain's `Agreement`, or `null` for the chain's default.
 */
export function agreementOf(entry) {
  if (!entry) return null;
  const ppb = (fraction, what) => {
    const value = Math.round(Number(fraction ?? 0) * 1e9);
    if (!Number.isFinite(value) || value < 0) throw new Error(`agreement.${what} is not a fraction: ${fraction}`);
    return value;
  };
  return {
    tolerance: { absolutePpb: ppb(entry.absolute, 'absolute'), relativePpb: ppb(entry.relative, 'relative') },
    fraudMargin: Number(entry.fraud_margin ?? 100),
  };
}

/**
 * Reads an ONNX file and its `.schema.json` (or `schemaFile`): the on-chain artifact (blake2-256,
 * size, URI defaulting to `file://<path>`, opset), the I/O schema, the output rounding bits and
 * the agreement rule (`null`: the chain's default).
 */
export function readModelFile(file, { uri, schemaFile } = {}) {
  const path = resolve(file);
  const bytes = readFileSync(path);
  const schema = JSON.parse(readFileSync(schemaFile ?? path.replace(/\.onnx$/, '') + '.schema.json', 'utf8'));
  return {
    artifact: { hash: blake2AsHex(bytes, 256), size: bytes.length, uri: uri ?? `file://${path}`, opset: schema.opset },
    schema: { inputs: schema.inputs.map(specOf), outputs: schema.outputs.map(specOf) },
    roundingBits: schema.output_rounding_bits ?? 16,
    agreement: agreementOf(schema.agreement),
  };
}

const at = { name: 'at', type: 'BlockHash', isOptional: true };

/**
 * The node's `modelhub_*` JSON-RPC methods (docs/rpc.md) for `@polkadot/api`'s `rpc` option:
 * `api.rpc.modelhub.quote(0, 289)`; answers are `Json` (`.toJSON()`).
 */
export const MODELHUB_RPC = {
  model: { description: 'One model with its usage', params: [{ name: 'model', type: 'u64' }, at], type: 'Json' },
  models: {
    description: 'A page of models by calls, revenue or newest',
    params: [
      { name: 'order', type: 'Text', isOptional: true },
      { name: 'offset', type: 'u32', isOptional: true },
      { name: 'limit', type: 'u32', isOptional: true },
      at,
    ],
    type: 'Json',
  },
  modelUsage: {
    description: "A model's calls, royalties, share and rank over recent epochs or all time",
    params: [{ name: 'model', type: 'u64' }, { name: 'epochs', type: 'u32', isOptional: true }, at],
    type: 'Json',
  },
  quote: {
    description: 'The fee of a call and its split',
    params: [{ name: 'model', type: 'u64' }, { name: 'inputLen', type: 'u32' }, { name: 'redundancy', type: 'u32', isOptional: true }, at],
    type: 'Json',
  },
  marketStats: {
    description: 'Calls, fees and concentration of demand over recent epochs or all time',
    params: [{ name: 'epochs', type: 'u32', isOptional: true }, at],
    type: 'Json',
  },
  request: { description: 'A request and its status', params: [{ name: 'request', type: 'u64' }, at], type: 'Json' },
  result: { description: 'An ended request and its output', params: [{ name: 'request', type: 'u64' }, at], type: 'Json' },
  worker: { description: "A worker's bond, jobs, earnings and slashes", params: [{ name: 'account', type: 'Text' }, at], type: 'Json' },
  fastWorkers: {
    description: 'The workers serving fast calls of a model, with their endpoints',
    params: [{ name: 'model', type: 'u64' }, at],
    type: 'Json',
  },
  submitAndWatchInference: {
    description: 'Checks, submits and follows a signed request_inference to its output or refund',
    params: [{ name: 'extrinsic', type: 'Extrinsic' }],
    pubsub: ['inferenceStatus', 'submitAndWatchInference', 'unwatchInference'],
    type: 'Json',
  },
};

/**
 * Node methods newer than @polkadot/api's bundled definitions: `author_rotateKeysWithOwner`
 * returns new session keys with the proof `session.setKeys` checks (`{ keys, proof }`).
 */
export const AUTHOR_RPC = {
  rotateKeysWithOwner: {
    description: 'Generates session keys and a proof that they belong to `owner`',
    params: [{ name: 'owner', type: 'Bytes' }],
    type: 'Json',
  },
};

/** Connects to the node, failing after `timeoutMs`. */
export async function connect(url, timeoutMs = 30_000) {
  await cryptoWaitReady();
  const provider = new WsProvider(url, false);
  await withTimeout(provider.connect(), timeoutMs, `connecting to ${url}`);
  // `AuthorizeCall` (frame-system) and `CheckInferenceRequest` (the inference pallet, which
  // refuses a request that would fail before the pool admits it) add nothing to the extrinsic
  // or the signed payload.
  const signedExtensions = {
    AuthorizeCall: { extrinsic: {}, payload: {} },
    CheckInferenceRequest: { extrinsic: {}, payload: {} },
  };
  // The methods these clients call are decorated above; `noInitWarn` keeps @polkadot/api from
  // listing, on every start, the node's other methods it has no definitions for (the new
  // JSON-RPC spec's `chainHead_v1_*`, `transaction_v1_*`, …), which nothing here uses.
  const options = {
    provider,
    signedExtensions,
    rpc: { modelhub: MODELHUB_RPC, author: AUTHOR_RPC },
    throwOnConnect: true,
    noInitWarn: true,
  };
  return withTimeout(ApiPromise.create(options), timeoutMs, 'reading metadata');
}

/** A signer from a secret URI such as `//Alice` or a mnemonic. */
export function signer(suri) {
  return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(suri);
}

/** An account id from an SS58 address or a dev secret URI (`//Bob`). */
export function accountOf(text) {
  return text.startsWith('//') ? signer(text).address : text;
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Signs and submits `tx`, resolving with `{ blockHash, events }` once it is in a block, or
 * rejecting with the decoded module error (`registry.NotModelOwner: …`).
 */
export function submit(api, tx, pair, timeoutMs = 60_000) {
  const done = new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    tx.signAndSend(pair, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        unsubscribe();
        if (dispatchError.isModule) {
          const { section, name, docs } = api.registry.findMetaError(dispatchError.asModule);
          reject(new Error(`${section}.${name}: ${docs.join(' ')}`));
        } else {
          reject(new Error(dispatchError.toString()));
        }
      } else if (status.isInBlock) {
        unsubscribe();
        resolve({ blockHash: status.asInBlock.toHex(), events });
      } else if (status.isDropped || status.isInvalid || status.isUsurped) {
        unsubscribe();
        reject(new Error(`transaction ${status.type}`));
      }
    }).then((unsub) => { unsubscribe = unsub; }, reject);
  });
  return withTimeout(done, timeoutMs, 'waiting for the transaction');
}

/** Waits (up to `timeoutMs`, polling every second) until `count` workers hold `model` ready. */
export async function waitReady(api, model, count, timeoutMs, quiet) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await api.query.modelRegistry.models(model);
    if (record.isNone) throw new Error(`model ${model} does not exist`);
    const version = record.unwrap().version.toNumber();
    const ready = (await api.query.verification.readyWorkers.keys([model, version])).length;
    if (ready >= count) return;
    if (Date.now() > deadline) {
      throw new Error(`${ready} of ${count} workers hold model ${model} version ${version} ready after ${timeoutMs / 1000} s`);
    }
    if (!quiet) console.error(`waiting for workers to hold model ${model} version ${version} ready (${ready} of ${count})`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Runs `main`, printing errors and exiting non-zero on failure. */
export function run(main) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(`error: ${error.message}`);
      process.exit(1);
    },
  );
}

// ---- Tensor sets (docs/protocol.md): SCALE-encoded, names strictly ascending. ----

const DTYPE_SIZE = { f32: 4, f64: 8, f16: 2, i8: 1, i16: 2, i32: 4, i64: 8, u8: 1, u16: 2, u32: 4, u64: 8, bool: 1 };

function compact(value) {
  let n = BigInt(value);
  if (n < 64n) return Uint8Array.of(Number(n) << 2);
  if (n < 16384n) return Uint8Array.of(Number((n << 2n) & 0xffn) | 1, Number(n >> 6n));
  if (n < 1073741824n) {
    const v = (n << 2n) | 2n;
    return Uint8Array.of(Number(v & 0xffn), Number((v >> 8n) & 0xffn), Number((v >> 16n) & 0xffn), Number((v >> 24n) & 0xffn));
  }
  const bytes = [];
  while (n > 0n) { bytes.push(Number(n & 0xffn)); n >>= 8n; }
  return Uint8Array.of(((bytes.length - 4) << 2) | 3, ...bytes);
}

function readCompact(bytes, at) {
  const mode = bytes[at] & 3;
  if (mode === 0) return [BigInt(bytes[at] >> 2), at + 1];
  if (mode === 1) return [BigInt((bytes[at] | (bytes[at + 1] << 8)) >> 2), at + 2];
  if (mode === 2) return [BigInt((bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)) >>> 0) + (BigInt(bytes[at + 3]) << 24n) >> 2n, at + 4];
  const length = (bytes[at] >> 2) + 4;
  let n = 0n;
  for (let i = length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[at + 1 + i]);
  return [n, at + 1 + length];
}

function f32ToF16(value) {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value, true);
  const bits = view.getUint32(0, true);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && (half & 1))) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half += 1;
  return sign | half;
}

function f16ToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function writeElement(view, at, dtype, value) {
  const number = () => Number(value);
  switch (dtype) {
    case 'f32': view.setFloat32(at, number(), true); break;
    case 'f64': view.setFloat64(at, number(), true); break;
    case 'f16': view.setUint16(at, f32ToF16(number()), true); break;
    case 'i8': view.setInt8(at, number()); break;
    case 'i16': view.setInt16(at, number(), true); break;
    case 'i32': view.setInt32(at, number(), true); break;
    case 'i64': view.setBigInt64(at, BigInt(value), true); break;
    case 'u8': view.setUint8(at, number()); break;
    case 'u16': view.setUint16(at, number(), true); break;
    case 'u32': view.setUint32(at, number(), true); break;
    case 'u64': view.setBigUint64(at, BigInt(value), true); break;
    case 'bool': view.setUint8(at, value ? 1 : 0); break;
    default: throw new Error(`unknown dtype ${dtype}`);
  }
}

/** Non-finite floats as the strings "NaN", "Infinity" and "-Infinity", as in JSON tensor files. */
const jsonFloat = (value) => (Number.isFinite(value) ? value : String(value));

function readElement(view, at, dtype) {
  switch (dtype) {
    case 'f32': return jsonFloat(view.getFloat32(at, true));
    case 'f64': return jsonFloat(view.getFloat64(at, true));
    case 'f16': return jsonFloat(f16ToNumber(view.getUint16(at, true)));
    case 'i8': return view.getInt8(at);
    case 'i16': return view.getInt16(at, true);
    case 'i32': return view.getInt32(at, true);
    case 'i64': return view.getBigInt64(at, true).toString();
    case 'u8': return view.getUint8(at);
    case 'u16': return view.getUint16(at, true);
    case 'u32': return view.getUint32(at, true);
    case 'u64': return view.getBigUint64(at, true).toString();
    case 'bool': return view.getUint8(at) === 1;
    default: throw new Error(`unknown dtype ${dtype}`);
  }
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

/**
 * Encodes `{NAME: {dtype, shape, data}}` (data flat, row-major; floats may be "NaN" or
 * "Infinity") as a canonical tensor set.
 */
export function encodeTensorSet(tensors) {
  const names = Object.keys(tensors).sort();
  const parts = [compact(names.length)];
  for (const name of names) {
    const { dtype, shape, data } = tensors[name];
    if (!(dtype in DTYPE_SIZE)) throw new Error(`${name}: unknown dtype ${dtype}`);
    const count = shape.reduce((n, d) => n * d, 1);
    if (data.length !== count) throw new Error(`${name}: ${data.length} elements for shape [${shape}]`);
    const nameBytes = new TextEncoder().encode(name);
    const dims = new DataView(new ArrayBuffer(8 * shape.length));
    shape.forEach((d, i) => dims.setBigUint64(8 * i, BigInt(d), true));
    const body = new DataView(new ArrayBuffer(count * DTYPE_SIZE[dtype]));
    data.forEach((value, i) => writeElement(body, i * DTYPE_SIZE[dtype], dtype, value));
    parts.push(
      compact(nameBytes.length), nameBytes, Uint8Array.of(DTYPES.indexOf(dtype)),
      compact(shape.length), new Uint8Array(dims.buffer),
      compact(body.byteLength), new Uint8Array(body.buffer),
    );
  }
  return concat(parts);
}

/** Decodes a canonical tensor set into `{NAME: {dtype, shape, data}}`. */
export function decodeTensorSet(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  let [count, at] = readCompact(u8, 0);
  const tensors = {};
  for (let t = 0n; t < count; t++) {
    let length;
    [length, at] = readCompact(u8, at);
    const name = new TextDecoder().decode(u8.subarray(at, at + Number(length)));
    at += Number(length);
    const dtype = DTYPES[u8[at]];
    at += 1;
    let rank;
    [rank, at] = readCompact(u8, at);
    const shape = [];
    for (let i = 0; i < Number(rank); i++) { shape.push(Number(view.getBigUint64(at, true))); at += 8; }
    let size;
    [size, at] = readCompact(u8, at);
    const data = [];
    for (let i = 0; i < Number(size) / DTYPE_SIZE[dtype]; i++) data.push(readElement(view, at + i * DTYPE_SIZE[dtype], dtype));
    at += Number(size);
    tensors[name] = { dtype, shape, data };
  }
  return tensors;
}
