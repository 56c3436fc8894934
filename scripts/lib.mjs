// Shared helpers of the project's @polkadot/api clients: argument parsing, connection,
// signing, and waiting for a transaction with a bounded timeout.
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';

export const OPG_DECIMALS = 18n;

/** Parses `--key value` pairs (repeatable keys collect into arrays) and positional args. */
export function parseArgs(argv, { repeatable = [] } = {}) {
  const options = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2);
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
 * Reads an ONNX file and its `.schema.json` (or `schemaFile`): the on-chain artifact (blake2-256,
 * size, URI defaulting to `file://<path>`, opset), the I/O schema and the output rounding bits.
 */
export function readModelFile(file, { uri, schemaFile } = {}) {
  const path = resolve(file);
  const bytes = readFileSync(path);
  const schema = JSON.parse(readFileSync(schemaFile ?? path.replace(/\.onnx$/, '') + '.schema.json', 'utf8'));
  return {
    artifact: { hash: blake2AsHex(bytes, 256), size: bytes.length, uri: uri ?? `file://${path}`, opset: schema.opset },
    schema: { inputs: schema.inputs.map(specOf), outputs: schema.outputs.map(specOf) },
    roundingBits: schema.output_rounding_bits ?? 16,
  };
}

/** Connects to the node, failing after `timeoutMs`. */
export async function connect(url, timeoutMs = 30_000) {
  await cryptoWaitReady();
  const provider = new WsProvider(url, false);
  await withTimeout(provider.connect(), timeoutMs, `connecting to ${url}`);
  return withTimeout(ApiPromise.create({ provider, throwOnConnect: true }), timeoutMs, 'reading metadata');
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
