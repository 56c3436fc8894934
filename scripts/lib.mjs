// Shared helpers of the project's @polkadot/api clients: argument parsing, connection,
// signing, and waiting for a transaction with a bounded timeout.
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { DTYPES } from './codec.mjs';

export { OPG_DECIMALS, decodeTensorSet, encodeTensorSet, formatOpg, parseOpg } from './codec.mjs';

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

/** Converts a percentage ("12.5") into Permill parts (125000). */
export function parsePercent(text) {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new Error(`not a percentage: ${text}`);
  return Math.round(value * 10_000);
}

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
