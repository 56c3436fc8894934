/**
 * The catalog (`#/`): every model, searchable by name and description, sorted by calls,
 * royalties earned, price or age, a page at a time (`hubindex_models`). The query keeps the
 * search (`q`), the order (`order`) and the page (`page`), so a view can be shared.
 */
import { count, h } from '../format.js';
import { accountLink, balance, heading, modelLink, stateBadge, table } from '../ui.js';

const PAGE_SIZE = 20;

const ORDERS = [
  { value: 'calls', label: 'Most called' },
  { value: 'revenue', label: 'Most royalties' },
  { value: 'price', label: 'Cheapest' },
  { value: 'newest', label: 'Newest' },
];

/**
 * Loads and draws the catalog page.
 *
 * @param {{ client: any, query: URLSearchParams, setQuery: Function }} context
 * @returns {Promise<HTMLElement>}
 */
export async function render({ client, query, setQuery }) {
  const search = query.get('q') ?? '';
  const order = ORDERS.some((o) => o.value === query.get('order')) ? query.get('order') : 'calls';
  const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
  const answer = await client.call('hubindex_models', [search.trim() || null, order, (page - 1) * PAGE_SIZE, PAGE_SIZE]);
  const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));

  let typing;
  const searchBox = h('input', {
    id: 'catalog-search',
    type: 'search',
    placeholder: 'Search names and descriptions',
    value: search,
    'aria-label': 'Search models',
    'data-testid': 'catalog-search',
    autocomplete: 'off',
    oninput: (event) => {
      clearTimeout(typing);
      const text = event.target.value;
      typing = setTimeout(() => setQuery({ q: text || null, page: null }, { replace: true }), 250);
    },
  });
  const sortSelect = h('select', {
    id: 'catalog-order',
    'aria-label': 'Sort by',
    'data-testid': 'catalog-order',
    onchange: (event) => setQuery({ order: event.target.value === 'calls' ? null : event.target.value, page: null }),
  }, ORDERS.map((o) => h('option', { value: o.value, selected: o.value === order }, o.label)));

  const first = answer.total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
  const last = (page - 1) * PAGE_SIZE + answer.models.length;
  const go = (to) => setQuery({ page: to > 1 ? String(to) : null });

  const rows = table([
    {
      label: 'Model',
      cell: (m) => h('div.model-cell', null,
        h('div', null, modelLink(m.id, m.name), h('span.muted.id', null, ` #${m.id}`), m.state !== 'active' ? [' ', stateBadge(m.state)] : null),
        m.description ? h('div.description', { title: m.description }, m.description) : null),
    },
    { label: 'Owner', cell: (m) => accountLink(m.owner) },
    { label: 'Price', cell: (m) => balance(m.price), numeric: true },
    { label: 'Calls', cell: (m) => count(m.calls), numeric: true },
    { label: 'Royalties', cell: (m) => balance(m.royalties), numeric: true },
  ], answer.models, {
    testid: 'catalog-table',
    rowAttributes: (m) => ({ 'data-testid': 'catalog-row', 'data-model-id': String(m.id) }),
    empty: search ? `No model matches “${search}”.` : 'No models published yet.',
  });

  return h('div.page', { dataset: { title: 'Catalog' } },
    heading('Catalog', 'Models'),
    h('div.toolbar', null,
      searchBox,
      h('label.sort', null, h('span', null, 'Sort'), sortSelect)),
    h('section.panel.flush', null, rows),
    h('nav.pager', { 'aria-label': 'Pages', 'data-testid': 'catalog-pager' },
      h('span.muted', { 'data-testid': 'catalog-total', 'data-value': String(answer.total) },
        answer.total ? `${count(first)}–${count(last)} of ${count(answer.total)}` : '0 models'),
      h('span.pager-buttons', null,
        h('button', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1) }, '← Previous'),
        h('span.muted', null, `Page ${page} of ${pages}`),
        h('button', { type: 'button', disabled: page >= pages, onclick: () => go(page + 1) }, 'Next →'))));
}
