/**
 * The "try it" form of a model's page: pays for one inference call from the browser, as
 * `scripts/infer.mjs` does from the command line. The inputs come from the model's input
 * schema (`ModelRegistry.Versions`), one JSON nested array per tensor, encoded with the
 * chain's tensor codec; "Quote" asks `modelhub_quote` for the fee; "Pay and run" signs
 * `Inference.request_inference(model, input, max_fee = quote, redundancy)` with a development
 * account or a browser extension's, hands it to `modelhub_submitAndWatchInference` and follows
 * the request to its output or refund.
 *
 * This module carries `@polkadot/api` and is loaded only when a model's page is shown.
 */
import { ApiPromise, WsProvider } from '@polkadot/api';
import { web3Accounts, web3Enable, web3FromAddress } from '@polkadot/extension-dapp';
import { Keyring } from '@polkadot/keyring';
import { hexToU8a, u8aToHex, u8aToString } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { decodeTensorSet, encodeTensorSet } from '../../scripts/codec.mjs';
import { account, append, count, h, opg, opgExact, shortAddress } from './format.js';
import { accountLink, balance } from './ui.js';

/** The development accounts offered as signers. */
const DEV_SIGNERS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

/** Events that end a request: the outcome is known (or will not come). */
const OUTCOMES = ['settled', 'refunded', 'failed', 'dropped', 'timedOut'];

/** Events after which the node sends nothing more. */
const STREAM_ENDS = ['finalized', 'dropped', 'timedOut'];

/** How long the form follows a request before giving up watching (the request goes on). */
const WATCH_LIMIT_MS = 5 * 60_000;

const FLOATS = ['f16', 'f32', 'f64'];
const WIDE = ['i64', 'u64'];

const apis = new Map();

/**
 * An `ApiPromise` for `url` and its provider, created once and shared: connected as `scripts/lib.mjs`'s
 * `connect()` connects, with the chain's two signed extensions that add nothing to a
 * transaction (`AuthorizeCall`, `CheckInferenceRequest`).
 */
function apiFor(url) {
  if (!apis.has(url)) {
    const created = (async () => {
      await cryptoWaitReady();
      const provider = new WsProvider(url, false);
      await withTimeout(provider.connect(), 15_000, `connecting to ${url}`);
      const signedExtensions = {
        AuthorizeCall: { extrinsic: {}, payload: {} },
        CheckInferenceRequest: { extrinsic: {}, payload: {} },
      };
      const api = await withTimeout(
        ApiPromise.create({ provider, signedExtensions, throwOnConnect: true, noInitWarn: true }),
        30_000,
        'reading the chain metadata',
      );
      api.on('disconnected', () => apis.delete(url));
      return { api, provider };
    })();
    created.catch(() => apis.delete(url));
    apis.set(url, created);
  }
  return apis.get(url);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The input and output specs of the model's current version, read from
 * `ModelRegistry.Versions(model, version)`: `{ name, dtype ("f32"…), shape: [n | null] }`.
 */
async function schemaOf(api, model) {
  const record = await api.query.modelRegistry.versions(model.id, model.version);
  if (record.isNone) throw new Error(`version ${model.version} of model ${model.id} is not on chain`);
  const spec = (tensor) => ({
    name: u8aToString(tensor.name.toU8a(true)),
    dtype: tensor.dtype.type.toLowerCase(),
    shape: tensor.shape.map((dim) => (dim.isFixed ? dim.asFixed.toNumber() : null)),
  });
  const { schema } = record.unwrap();
  return { inputs: schema.inputs.map(spec), outputs: schema.outputs.map(spec) };
}

/** A nested array of `shape` filled with `value`. */
function filled(shape, value) {
  if (!shape.length) return value;
  return Array.from({ length: shape[0] }, () => filled(shape.slice(1), value));
}

/** A flat, row-major list of `shape` as nested arrays. */
function nest(data, shape) {
  if (!shape.length) return data[0];
  if (shape.length === 1) return data.slice(0, shape[0]);
  const stride = shape.slice(1).reduce((n, d) => n * d, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(data.slice(i * stride, (i + 1) * stride), shape.slice(1)));
}

/** Nested arrays as JSON with one innermost array per line. */
function pretty(value, indent = '') {
  if (!Array.isArray(value)) return JSON.stringify(value);
  if (value.every((item) => !Array.isArray(item))) return `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
  const inner = `${indent}  `;
  return `[\n${value.map((item) => inner + pretty(item, inner)).join(',\n')}\n${indent}]`;
}

/**
 * An element of a decoded tensor for display: f16 and f32 values with the 9 significant digits
 * that identify them (not the float64 expansion), 64-bit integers as numbers when exact.
 */
function shown(value, dtype) {
  if ((dtype === 'f32' || dtype === 'f16') && typeof value === 'number') return Number(value.toPrecision(9));
  if (WIDE.includes(dtype) && Number.isSafeInteger(Number(value))) return Number(value);
  return value;
}

/** Decoded tensors (`{NAME: {dtype, shape, data}}`) as `{NAME: nested array}` JSON text. */
function prettyTensors(tensors) {
  const entries = Object.entries(tensors).map(([name, t]) => {
    const values = t.data.map((value) => shown(value, t.dtype));
    return `  ${JSON.stringify(name)}: ${pretty(nest(values, t.shape), '  ')}`;
  });
  return `{\n${entries.join(',\n')}\n}`;
}

/** Checks one element of a tensor of `dtype` as written in JSON. */
function element(value, dtype, name) {
  if (dtype === 'bool') {
    if (typeof value === 'boolean' || value === 0 || value === 1) return value === true || value === 1;
  } else if (FLOATS.includes(dtype)) {
    if (typeof value === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(value)) return value;
  } else if (Number.isInteger(value)) {
    return WIDE.includes(dtype) ? String(value) : value;
  } else if (WIDE.includes(dtype) && typeof value === 'string' && /^-?\d+$/.test(value)) {
    return value;
  }
  throw new Error(`${name}: ${JSON.stringify(value)} is not a ${dtype} value`);
}

/**
 * The tensor a textarea holds (JSON nested arrays), checked against its spec:
 * `{dtype, shape, data}` with `data` flat.
 */
function tensorOf(text, spec) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${spec.name} is not JSON: ${error.message}`);
  }
  const shape = [];
  for (let level = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  if (shape.length !== spec.shape.length) {
    throw new Error(`${spec.name} has ${shape.length} dimensions; the model takes ${spec.shape.length}`);
  }
  spec.shape.forEach((dim, i) => {
    if (dim !== null && dim !== shape[i]) throw new Error(`${spec.name}: dimension ${i} is ${shape[i]}; the model takes ${dim}`);
  });
  const data = [];
  const walk = (item, depth) => {
    if (depth === shape.length) {
      data.push(element(item, spec.dtype, spec.name));
      return;
    }
    if (!Array.isArray(item) || item.length !== shape[depth]) throw new Error(`${spec.name} is not a rectangular array of shape [${shape}]`);
    item.forEach((inner) => walk(inner, depth + 1));
  };
  walk(value, 0);
  return { dtype: spec.dtype, shape, data };
}

/** A dtype and shape as the schema declares them ("f32 [?, 64]"). */
function describeSpec(spec) {
  return `${spec.dtype} [${spec.shape.map((d) => (d === null ? '?' : d)).join(', ')}]`;
}

/** The signers offered: development accounts, then a browser extension's accounts if any. */
async function signerOptions() {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const dev = DEV_SIGNERS.map((name) => {
    const pair = keyring.addFromUri(`//${name}`);
    return { value: `//${name}`, label: `//${name} (${shortAddress(pair.address)})`, pair, address: pair.address };
  });
  let extension = [];
  let note = null;
  if (window.injectedWeb3 && Object.keys(window.injectedWeb3).length) {
    try {
      const enabled = await web3Enable('OPG Model Hub explorer');
      if (enabled.length) {
        const accounts = await web3Accounts({ ss58Format: 42 });
        extension = accounts.map((a) => ({
          value: `ext:${a.address}`,
          label: `${a.meta.name ?? 'account'} (${shortAddress(a.address)}) · ${a.meta.source}`,
          address: a.address,
        }));
      } else {
        note = 'The browser extension did not allow this site.';
      }
    } catch (error) {
      note = `The browser extension failed: ${error.message}`;
    }
  }
  return { dev, extension, note };
}

/**
 * Draws the form into `body` once the chain's metadata and the model's schema are read;
 * `panel.dataset.state` goes from `loading` to `ready` (or `error`).
 *
 * @param {HTMLElement} body where the form goes
 * @param {{ client: any, model: any, panel: HTMLElement }} context the page's JSON-RPC client,
 *   the model (`hubindex_model`'s `model`), and the section holding the form
 */
export async function mountTryIt(body, { client, model, panel }) {
  let api;
  let provider;
  let schema;
  let signers;
  try {
    ({ api, provider } = await apiFor(client.url));
    [schema, signers] = await Promise.all([schemaOf(api, model), signerOptions()]);
  } catch (error) {
    panel.dataset.state = 'error';
    body.replaceChildren(
      h('p.error-text', { 'data-testid': 'try-status', 'data-state': 'error' }, `The form needs the chain's metadata and the model's schema: ${error.message}`),
      h('button', { type: 'button', onclick: () => { body.replaceChildren(h('p.muted', null, 'Loading the signer…')); panel.dataset.state = 'loading'; mountTryIt(body, { client, model, panel }); } }, 'Retry'));
    return;
  }

  const signerSelect = h('select', { id: 'try-signer', 'data-testid': 'try-signer' },
    h('optgroup', { label: 'Development accounts' }, signers.dev.map((s) => h('option', { value: s.value, selected: s.value === '//Bob' }, s.label))),
    signers.extension.length
      ? h('optgroup', { label: 'Browser extension' }, signers.extension.map((s) => h('option', { value: s.value }, s.label)))
      : null);
  const redundancy = h('input', { id: 'try-redundancy', type: 'number', min: '1', max: '5', step: '1', value: '1', 'data-testid': 'try-redundancy' });
  const fields = schema.inputs.map((spec) => {
    const shape = spec.shape.map((d) => d ?? 1);
    const zero = spec.dtype === 'bool' ? false : 0;
    const text = pretty(filled(shape, zero));
    const area = h('textarea', {
      id: `try-input-${spec.name}`,
      rows: String(Math.min(12, Math.max(3, text.split('\n').length))),
      spellcheck: 'false',
      'data-testid': 'try-input',
      'data-name': spec.name,
    });
    area.value = text;
    return { spec, area };
  });

  const quoteBox = h('div.try-quote', { 'data-testid': 'try-quote', 'aria-live': 'polite' });
  const statusLine = h('p.try-status', { 'data-testid': 'try-status', 'data-state': 'idle', 'aria-live': 'polite' }, 'Quote the fee, or pay and run.');
  const steps = h('ol.try-steps', { 'data-testid': 'try-steps' });
  const output = h('pre.try-output', { 'data-testid': 'try-output', hidden: true });
  const payouts = h('div.try-payouts');
  const quoteButton = h('button', { type: 'button', 'data-testid': 'try-quote-button' }, 'Quote');
  const runButton = h('button.primary', { type: 'submit', 'data-testid': 'try-run' }, 'Pay and run');

  const setStatus = (state, text) => {
    statusLine.dataset.state = state;
    statusLine.textContent = text;
  };
  const redundancyValue = () => {
    const value = Number(redundancy.value);
    if (!Number.isInteger(value) || value < 1) throw new Error('redundancy is a whole number from 1');
    return value;
  };
  const encodeInputs = () => {
    const tensors = {};
    for (const { spec, area } of fields) tensors[spec.name] = tensorOf(area.value, spec);
    return encodeTensorSet(tensors);
  };
  const showQuote = (fee, inputLength) => {
    quoteBox.dataset.value = fee.total;
    quoteBox.replaceChildren(
      h('div.quote-total', null, 'Fee ', h('strong', { title: opgExact(fee.total) }, opg(fee.total, { digits: 6 })), h('span.muted', null, ` for ${count(inputLength)} bytes of input`)),
      h('div.quote-parts.muted', null,
        `royalty ${opg(fee.royalty, { digits: 6 })} · execution ${opg(fee.execution, { digits: 6 })} · chain fee at most ${opg(fee.chain, { digits: 6 })}`));
  };
  const quote = async () => {
    const input = encodeInputs();
    const fee = await client.call('modelhub_quote', [model.id, input.length, redundancyValue()]);
    showQuote(fee, input.length);
    return { input, fee };
  };

  quoteButton.addEventListener('click', async () => {
    quoteButton.disabled = true;
    try {
      await quote();
      if (statusLine.dataset.state === 'idle' || statusLine.dataset.state === 'error') setStatus('idle', 'Quoted. Pay and run to make the call.');
    } catch (error) {
      quoteBox.replaceChildren();
      delete quoteBox.dataset.value;
      setStatus('error', error.message);
    } finally {
      quoteButton.disabled = false;
    }
  });

  let watching = null;
  const stopWatching = () => {
    if (!watching) return;
    const { id, timer } = watching;
    watching = null;
    clearTimeout(timer);
    provider.unsubscribe('modelhub_inferenceStatus', 'modelhub_unwatchInference', id).catch(() => {});
  };

  const form = h('form.try-form', {
    onsubmit: async (event) => {
      event.preventDefault();
      stopWatching();
      runButton.disabled = true;
      quoteButton.disabled = true;
      steps.replaceChildren();
      payouts.replaceChildren();
      output.hidden = true;
      output.textContent = '';
      try {
        setStatus('running', 'Quoting the fee…');
        const { input, fee } = await quote();
        const chosen = signerSelect.value;
        const tx = api.tx.inference.requestInference(model.id, u8aToHex(input), BigInt(fee.total), redundancyValue());
        if (chosen.startsWith('ext:')) {
          const address = chosen.slice(4);
          setStatus('running', 'Waiting for the extension to sign…');
          const injector = await web3FromAddress(address);
          await tx.signAsync(address, { nonce: -1, signer: injector.signer });
        } else {
          setStatus('running', 'Signing…');
          await tx.signAsync(signers.dev.find((s) => s.value === chosen).pair, { nonce: -1 });
        }
        setStatus('running', 'Submitting…');
        const started = performance.now();
        const onUpdate = (error, update) => {
          if (error) {
            setStatus('error', `Watching failed: ${error.message}`);
            stopWatching();
            return;
          }
          follow(update, Math.round(performance.now() - started));
        };
        const id = await provider.subscribe('modelhub_inferenceStatus', 'modelhub_submitAndWatchInference', [tx.toHex()], onUpdate);
        const timer = setTimeout(() => {
          if (!OUTCOMES.includes(statusLine.dataset.state)) setStatus('error', 'No outcome after 5 minutes; the request goes on without this page.');
          stopWatching();
        }, WATCH_LIMIT_MS);
        watching = { id, timer };
        if (statusLine.dataset.state === 'running' && statusLine.textContent === 'Submitting…') setStatus('running', 'Submitted; waiting for a block…');
      } catch (error) {
        setStatus('error', `${error.message.replace(/\nFailed WS Request:.*$/s, '')}. Nothing was paid.`);
      } finally {
        runButton.disabled = false;
        quoteButton.disabled = false;
      }
    },
  });

  /** Shows one `modelhub_inferenceStatus` update. */
  function follow(update, ms) {
    const details = [];
    if (update.request !== undefined) details.push(`request ${update.request}`);
    if (update.number !== undefined) details.push(`block #${count(update.number)}`);
    if (update.reason) details.push(update.reason);
    if (update.error) details.push(update.error);
    steps.append(h('li', null, h('span.ms', null, `${(ms / 1000).toFixed(1)} s`), ' ', h('strong', null, update.event), details.length ? ` · ${details.join(' · ')}` : ''));
    switch (update.event) {
      case 'ready':
      case 'future':
        setStatus('running', 'In the transaction pool…');
        break;
      case 'inBlock':
        setStatus('running', `In block #${count(update.number)}; drawing workers…`);
        break;
      case 'assigned':
        setStatus('running', `Request ${update.request}: ${opg(update.fee?.total, { digits: 6 })} held, running on ${(update.workers ?? []).map(account).join(', ')}…`);
        break;
      case 'settled': {
        let text = 'the output could not be decoded';
        try {
          text = prettyTensors(decodeTensorSet(hexToU8a(update.output)));
        } catch (error) {
          text = `${text}: ${error.message}`;
        }
        output.textContent = text;
        output.hidden = false;
        const paid = (update.payouts ?? []).reduce((sum, p) => sum + BigInt(p.amount), 0n);
        setStatus('settled', `Request ${update.request} settled in ${(ms / 1000).toFixed(1)} s (block #${count(update.number)}); paid ${opg(paid, { digits: 6 })}.`);
        payouts.replaceChildren(h('details', null, h('summary', null, 'Who was paid'),
          h('ul', null, (update.payouts ?? []).map((p) => h('li', null, accountLink(p.account), ' ', balance(p.amount))))));
        break;
      }
      case 'refunded':
        setStatus('refunded', `Request ${update.request} refunded (${update.reason}): ${opg(update.amount, { digits: 6 })} came back.`);
        break;
      case 'failed':
        setStatus('failed', `The call failed in block #${count(update.number)}: ${update.error}. Nothing was held; the transaction fee was paid.`);
        break;
      case 'dropped':
        setStatus('dropped', `The transaction pool dropped the request (${update.reason}); nothing was paid.`);
        break;
      case 'timedOut':
        setStatus('timedOut', `No outcome after ${update.blocks} blocks.`);
        break;
      case 'retracted':
      case 'outcomeRetracted':
        setStatus('running', 'The block left the best chain; following the request on the new one…');
        break;
      case 'finalized':
        if (statusLine.dataset.state === 'settled') statusLine.textContent += ' Final.';
        break;
      default:
        break;
    }
    if (STREAM_ENDS.includes(update.event)) stopWatching();
  }

  append(form, [
    h('div.try-row', null,
      h('label', { for: 'try-signer' }, 'Signer'), signerSelect,
      h('label', { for: 'try-redundancy' }, 'Workers'), redundancy),
    signers.note ? h('p.muted', null, signers.note) : null,
    fields.map(({ spec, area }) => h('div.try-field', null,
      h('label', { for: area.id }, h('strong', null, spec.name), h('span.muted', null, ` ${describeSpec(spec)}`)),
      area)),
    h('p.muted.small', null, `Outputs: ${schema.outputs.map((spec) => `${spec.name} ${describeSpec(spec)}`).join(', ')}. `,
      'Each input is a JSON nested array; dimensions marked ? take any size.'),
    h('div.try-actions', null, quoteButton, runButton),
    quoteBox,
    statusLine,
    steps,
    output,
    payouts,
  ]);
  body.replaceChildren(form);
  panel.dataset.state = 'ready';
}
