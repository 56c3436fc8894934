/**
 * Formatting of the index's figures for display: OPG balances (decimal strings of base units,
 * 18 decimals, handled as BigInt), counts, shares, dates and accounts, plus a tiny helper to
 * build DOM elements without HTML strings.
 */
import { OPG_DECIMALS, formatOpg } from '../../scripts/codec.mjs';

const UNIT = 10n ** OPG_DECIMALS;

/** Groups the digits of a non-negative integer string in threes ("1234567" → "1,234,567"). */
function group(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A balance in base units (string, number or BigInt) as OPG, rounded half up to `digits`
 * decimals (by default 4, 2 from 1,000 OPG, none from 1,000,000), trailing zeros dropped;
 * amounts too small to show read "< 0.0001 OPG".
 *
 * @param {string | number | bigint | null | undefined} units
 * @param {{ digits?: number, unit?: boolean }} [options]
 */
export function opg(units, { digits, unit = true } = {}) {
  if (units === null || units === undefined || units === '') return '—';
  let value = BigInt(units);
  const negative = value < 0n;
  if (negative) value = -value;
  if (digits === undefined) digits = value >= 1_000_000n * UNIT ? 0 : value >= 1000n * UNIT ? 2 : 4;
  const scale = 10n ** (OPG_DECIMALS - BigInt(digits));
  const rounded = (value + scale / 2n) / scale;
  const whole = rounded / 10n ** BigInt(digits);
  const fraction = digits ? (rounded % 10n ** BigInt(digits)).toString().padStart(digits, '0').replace(/0+$/, '') : '';
  const suffix = unit ? ' OPG' : '';
  if (rounded === 0n && value > 0n) return `< ${negative ? '-' : ''}${digits ? `0.${'0'.repeat(digits - 1)}1` : '1'}${suffix}`;
  return `${negative ? '-' : ''}${group(whole.toString())}${fraction ? `.${fraction}` : ''}${suffix}`;
}

/** The exact amount, every decimal kept ("0.598708535811 OPG"), for a tooltip. */
export function opgExact(units) {
  if (units === null || units === undefined || units === '') return '';
  return formatOpg(BigInt(units));
}

/** A balance in base units as a floating-point number of OPG, for charts. */
export function opgNumber(units) {
  const value = BigInt(units ?? 0);
  return Number(value / UNIT) + Number(value % UNIT) / 1e18;
}

/** A count with digit grouping; "—" when absent. */
export function count(value) {
  if (value === null || value === undefined) return '—';
  return group(String(value));
}

/** A share in [0, 1] as a percentage with two decimals ("12.34%"); "—" when absent. */
export function percent(share) {
  if (share === null || share === undefined || Number.isNaN(Number(share))) return '—';
  return `${(Number(share) * 100).toFixed(2)}%`;
}

/** An index in [0, 1] (HHI, Gini) with four decimals. */
export function ratio(value) {
  if (value === null || value === undefined) return '—';
  return Number(value).toFixed(4);
}

/** A Perbill (parts per billion) as a percentage with two decimals. */
export function perbill(parts) {
  return percent(Number(parts) / 1e9);
}

/** Milliseconds since the epoch as a UTC date and time ("2025-03-01 14:05 UTC"). */
export function dateTime(ms) {
  if (ms === null || ms === undefined) return '—';
  return `${new Date(Number(ms)).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Today's UTC date as "YYYY-MM-DD", shifted by `days`. */
export function utcDay(days = 0) {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The well-known development accounts (sr25519, `//Name`, SS58 prefix 42). */
export const DEV_ACCOUNTS = {
  '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY': 'Alice',
  '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty': 'Bob',
  '5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y': 'Charlie',
  '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy': 'Dave',
  '5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw': 'Eve',
  '5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL': 'Ferdie',
};

/** An SS58 address shortened ("5FLSig…cS59Y"). */
export function shortAddress(address) {
  return address.length > 14 ? `${address.slice(0, 6)}…${address.slice(-5)}` : address;
}

/** An SS58 address shortened for tables, prefixed by a development account's name. */
export function account(address) {
  if (!address) return '—';
  const name = DEV_ACCOUNTS[address];
  return name ? `${name} (${shortAddress(address)})` : shortAddress(address);
}

/**
 * Creates an element: `h('a.link', { href }, 'text', child)`. The tag may carry `.class`es;
 * attributes starting with `on` become listeners, `dataset` an object of data attributes,
 * anything else an attribute. Children are nodes, strings, numbers or arrays of them; `null`,
 * `undefined` and `false` are skipped.
 *
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attributes]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes, ...children) {
  const [name, ...classes] = tag.split('.');
  const element = document.createElement(name || 'div');
  if (classes.length) element.className = classes.join(' ');
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key === 'class') element.className = [element.className, value].filter(Boolean).join(' ');
    else if (key in element && typeof value !== 'string') element[key] = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** Appends children as `h` takes them (nodes, text, arrays; `null` and `false` skipped). */
export function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/**
 * A raw RPC value for a `data-value` attribute, unformatted: strings as they are, numbers as
 * JavaScript writes them, `null` as "null".
 */
export function rawValue(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
