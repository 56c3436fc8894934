/**
 * Building blocks the pages share: headings, figures, tables, links to models and accounts,
 * state badges, and the window picker that chooses which part of history a page shows.
 */
import { account, count, h, opg, opgExact, rawValue, utcDay } from './format.js';

/** A link inside the explorer: `link('#/model/3', 'digits')`. */
export function link(hash, ...children) {
  return h('a', { href: hash }, ...children);
}

/** A link to a model's page, showing its name (or "#id"). */
export function modelLink(id, name) {
  return link(`#/model/${id}`, name || `#${id}`);
}

/** A link to an account's uploader or worker page, the address shortened, in full on hover. */
export function accountLink(address, kind = 'uploader') {
  if (!address) return '—';
  return h('a.account', { href: `#/${kind}/${address}`, title: address }, account(address));
}

/** A balance shown rounded, exact on hover. */
export function balance(units) {
  return h('span.num', { title: opgExact(units) }, opg(units));
}

/** A balance for a headline figure: the number large, the unit small. */
export function bigBalance(units) {
  return h('span', { title: opgExact(units) }, opg(units, { unit: false }), h('span.unit', null, ' OPG'));
}

/** A model's life-cycle state as a small coloured label. */
export function stateBadge(state) {
  return h(`span.badge.state-${state ?? 'unknown'}`, null, state ?? 'unknown');
}

/** A page heading with an optional kicker above it ("Model", "Worker") and extras beside. */
export function heading(kicker, title, ...extras) {
  return h('header.page-head', null,
    kicker ? h('p.kicker', null, kicker) : null,
    h('div.title-row', null, h('h1', null, title), ...extras));
}

/** A titled section of a page. */
export function section(title, ...children) {
  return h('section.panel', null, title ? h('h2', null, title) : null, ...children);
}

/**
 * One headline figure: `label` above the `shown` text; `testid` and the raw RPC `value` become
 * `data-testid` and `data-value`.
 *
 * @param {string} label
 * @param {string | Node} shown
 * @param {{ testid?: string, value?: unknown, hint?: string }} [options]
 */
export function figure(label, shown, { testid, value, hint } = {}) {
  const attributes = { class: 'figure-value' };
  if (testid) attributes['data-testid'] = testid;
  if (value !== undefined) attributes['data-value'] = rawValue(value);
  return h('div.figure', hint ? { title: hint } : null,
    h('div.figure-label', null, label),
    h('div', attributes, shown));
}

/** A row of figures that wraps on narrow screens. */
export function figures(...items) {
  return h('div.figures', null, ...items);
}

/** A definition list of `[term, description]` pairs (description a node or text). */
export function facts(pairs) {
  return h('dl.facts', null, pairs.filter(Boolean).flatMap(([term, description]) => [h('dt', null, term), h('dd', null, description)]));
}

/**
 * A table that scrolls sideways on narrow screens.
 *
 * @param {Array<{ label: string, cell: (row: any) => unknown, numeric?: boolean }>} columns
 * @param {any[]} rows
 * @param {{ rowAttributes?: (row: any) => Record<string, unknown>, empty?: string, testid?: string }} [options]
 */
export function table(columns, rows, { rowAttributes, empty = 'Nothing to show.', testid } = {}) {
  if (!rows.length) return h('p.empty', testid ? { 'data-testid': `${testid}-empty` } : null, empty);
  return h('div.table-wrap', null,
    h('table', testid ? { 'data-testid': testid } : null,
      h('thead', null, h('tr', null, columns.map((c) => h(`th${c.numeric ? '.num' : ''}`, null, c.label)))),
      h('tbody', null, rows.map((row) => h('tr', rowAttributes?.(row) ?? null,
        columns.map((c) => h(`td${c.numeric ? '.num' : ''}`, null, c.cell(row))))))));
}

// ---- The window: all history, the last 7 or 30 days, or chosen dates. ----

/** The window choices of the picker. */
const PRESETS = [
  { key: 'all', label: 'All time', title: 'All history' },
  { key: '7d', label: '7 days', title: 'The last 7 days (UTC), today included' },
  { key: '30d', label: '30 days', title: 'The last 30 days (UTC), today included' },
  { key: 'custom', label: 'Custom', title: 'From one date to another (UTC, inclusive)' },
];

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The window a page's query asks for (`w=all|7d|30d`, or `from=`/`to=` dates) and the
 * parameter the `hubindex_*` methods take for it (`null` for all history).
 *
 * @param {URLSearchParams} query
 * @returns {{ key: string, from?: string, to?: string, param: null | { from?: string, to?: string } }}
 */
export function windowOf(query) {
  const from = query.get('from');
  const to = query.get('to');
  if ((from && DATE.test(from)) || (to && DATE.test(to))) {
    const param = {};
    if (from && DATE.test(from)) param.from = from;
    if (to && DATE.test(to)) param.to = to;
    return { key: 'custom', ...param, param };
  }
  const key = query.get('w');
  if (key === '7d') return { key, param: { from: utcDay(-6) } };
  if (key === '30d') return { key, param: { from: utcDay(-29) } };
  return { key: 'all', param: null };
}

/**
 * The window picker: preset buttons, and two date fields for a custom window. Choosing one
 * calls `change(query)` with the query entries to set (the others are removed).
 *
 * @param {{ key: string, from?: string, to?: string }} current
 * @param {{ fromBlock?: number, toBlock?: number, fromDate?: string, toDate?: string } | undefined} used
 *   the window the node answered for
 * @param {(entries: Record<string, string | null>) => void} change
 */
export function windowPicker(current, used, change) {
  const from = h('input', { type: 'date', value: current.from ?? used?.fromDate ?? '', 'aria-label': 'From date', 'data-testid': 'window-from' });
  const to = h('input', { type: 'date', value: current.to ?? used?.toDate ?? '', 'aria-label': 'To date', 'data-testid': 'window-to' });
  const custom = h('form.custom-window', {
    hidden: current.key !== 'custom',
    onsubmit: (event) => {
      event.preventDefault();
      // The node refuses a window that ends before it starts: take the dates in order.
      const [start, end] = from.value && to.value && from.value > to.value ? [to.value, from.value] : [from.value, to.value];
      change({ w: null, from: start || null, to: end || null });
    },
  }, from, h('span.dash', null, '–'), to, h('button', { type: 'submit' }, 'Apply'));
  const buttons = PRESETS.map(({ key, label, title }) => h('button', {
    type: 'button',
    title,
    class: key === current.key ? 'active' : '',
    'aria-pressed': String(key === current.key),
    'data-window': key,
    onclick: () => {
      if (key === 'custom') {
        custom.hidden = false;
        buttons.forEach((b) => b.classList.toggle('active', b.dataset.window === 'custom'));
        from.focus();
      } else {
        change({ w: key === 'all' ? null : key, from: null, to: null });
      }
    },
  }, label));
  return h('div.window', { 'data-testid': 'window-picker' },
    h('div.segmented', { role: 'group', 'aria-label': 'Window' }, buttons),
    custom,
    used ? h('p.window-used', null, describeWindow(used)) : null);
}

/** The window the node used, in words ("blocks #10–#2,310 · 2025-03-01 to 2025-03-07"). */
export function describeWindow(used) {
  const parts = [];
  const known = (value) => value !== null && value !== undefined;
  if (known(used.fromBlock) || known(used.toBlock)) {
    parts.push(`blocks #${known(used.fromBlock) ? count(used.fromBlock) : '…'}–#${known(used.toBlock) ? count(used.toBlock) : '…'}`);
  }
  if (used.fromDate || used.toDate) parts.push(`${used.fromDate ?? '…'} to ${used.toDate ?? '…'}`);
  return parts.length ? `Showing ${parts.join(' · ')}` : '';
}

/** An error box for a failed load. */
export function errorBox(error) {
  const kind = error?.kind;
  const title = kind === 'indexDisabled' ? 'The hub index is not enabled'
    : kind === 'unreachable' ? 'The node cannot be reached'
      : kind === 'notFound' ? 'Not found'
        : 'Something went wrong';
  const hint = kind === 'unreachable'
    ? 'Start a node (scripts/dev.sh), or open this page with ?rpc=ws://HOST:PORT for another one.'
    : kind === 'indexDisabled' ? 'The index serves the explorer its figures; restart the node with --hub-index.' : null;
  return h('div.error-box', { role: 'alert', 'data-testid': 'error' },
    h('strong', null, title),
    h('p', null, error?.message ?? String(error)),
    hint ? h('p.hint', null, hint) : null,
    kind === 'notFound' ? null : h('button', { type: 'button', onclick: () => window.dispatchEvent(new HashChangeEvent('hashchange')) }, 'Try again'));
}
