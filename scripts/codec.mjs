// The chain's tensor-set codec (docs/protocol.md) and OPG amounts, without Node.js
// dependencies: the command-line clients (through lib.mjs) and the explorer's browser bundle
// share it.

export const OPG_DECIMALS = 18n;

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

/** The tensor element types, in the order of the chain's `DType` (its SCALE index). */
export const DTYPES = ['f32', 'f64', 'f16', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'bool'];

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
