/**
 * The explorer's entry point: the header, the footer's index status, and the hash router that
 * draws one page at a time (`#/`, `#/model/<id>`, `#/uploader/<ss58>`, `#/worker/<ss58>`,
 * `#/market`). Each page loads its data, then the router swaps it in and sets
 * `document.body.dataset.ready = "1"` (with `data-error="1"` when the load failed).
 */
import { createClient, nodeUrl } from './rpc.js';
import { destroyCharts, drawPending } from './charts.js';
import { count, h, rawValue } from './format.js';
import { errorBox } from './ui.js';
import * as catalog from './pages/catalog.js';
import * as market from './pages/market.js';
import * as model from './pages/model.js';
import * as uploader from './pages/uploader.js';
import * as worker from './pages/worker.js';

const client = createClient(nodeUrl());

/** The routes: a pattern of path segments (`:name` captures one) and the page drawing it. */
const ROUTES = [
  { path: [], page: catalog, nav: 'catalog' },
  { path: ['model', ':id'], page: model, nav: 'catalog' },
  { path: ['uploader', ':account'], page: uploader, nav: 'catalog' },
  { path: ['worker', ':account'], page: worker, nav: 'catalog' },
  { path: ['market'], page: market, nav: 'market' },
];

/** The page, its captured parameters and its query for a location hash. */
function resolve(hash) {
  const [path, search = ''] = hash.replace(/^#\/?/, '').split('?');
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search);
  for (const route of ROUTES) {
    if (route.path.length !== segments.length) continue;
    const params = {};
    const matches = route.path.every((part, i) => {
      if (part.startsWith(':')) {
        params[part.slice(1)] = segments[i];
        return true;
      }
      return part === segments[i];
    });
    if (matches) return { route, params, query, key: `${route.path[0] ?? ''}/${Object.values(params).join('/')}` };
  }
  return { route: null, params: {}, query, key: path };
}

const main = h('main', { id: 'page' });
const status = h('span', { 'data-testid': 'indexed-block' }, '…');
const statusLine = h('span.status-extra');
const navLinks = {
  catalog: h('a', { href: '#/' }, 'Catalog'),
  market: h('a', { href: '#/market' }, 'Market'),
};

document.body.append(
  h('header.site', null,
    h('div.site-inner', null,
      h('a.brand', { href: '#/' }, h('span.brand-mark', { 'aria-hidden': 'true' }), 'OPG Model Hub'),
      h('nav', { 'aria-label': 'Main' }, navLinks.catalog, navLinks.market))),
  main,
  h('footer.site', null,
    h('div.site-inner', null,
      h('span', null, 'Indexed block ', status), statusLine,
      h('span.node-url', { title: 'Set with ?rpc=ws://… in the address' }, client.url))),
);

/** Reads `hubindex_status` into the footer. */
async function refreshStatus() {
  try {
    const answer = await client.call('hubindex_status');
    const indexed = answer.indexedBlock;
    status.textContent = indexed === null || indexed === undefined ? 'none yet' : `#${count(indexed)}`;
    status.dataset.value = rawValue(indexed ?? null);
    statusLine.textContent = [
      answer.finalizedBlock !== null && answer.finalizedBlock !== undefined ? `finalized #${count(answer.finalizedBlock)}` : null,
      `${count(answer.models)} models`,
      `${count(answer.calls)} calls`,
    ].filter(Boolean).join(' · ');
    statusLine.classList.remove('bad');
  } catch (error) {
    status.textContent = '—';
    delete status.dataset.value;
    statusLine.textContent = error.kind === 'indexDisabled' ? 'hub index not enabled on this node' : 'node unreachable';
    statusLine.classList.add('bad');
  }
}

let generation = 0;
let shownKey = null;

/**
 * Changes the current page's query: `entries` set (a `null` value removes one); with
 * `replace` the browser's history keeps one entry.
 */
function setQuery(entries, { replace = false } = {}) {
  const { query } = resolve(window.location.hash);
  for (const [key, value] of Object.entries(entries)) {
    if (value === null || value === undefined || value === '') query.delete(key);
    else query.set(key, value);
  }
  const [path] = window.location.hash.split('?');
  const search = query.toString();
  const hash = `${path || '#/'}${search ? `?${search}` : ''}`;
  if (replace) {
    window.history.replaceState(null, '', hash);
    route();
  } else {
    window.location.hash = hash;
  }
}

/** Draws the page for the current hash. */
async function route() {
  const current = ++generation;
  const { route: found, params, query, key } = resolve(window.location.hash);
  const samePage = key === shownKey;
  document.body.dataset.ready = '0';
  delete document.body.dataset.error;
  for (const [name, anchor] of Object.entries(navLinks)) anchor.classList.toggle('active', found?.nav === name);
  if (!samePage) main.replaceChildren(h('p.loading', null, 'Loading…'));
  main.classList.add('busy');
  const focused = document.activeElement?.id ? { id: document.activeElement.id, start: document.activeElement.selectionStart } : null;

  let view;
  let failed = false;
  try {
    if (!found) {
      throw Object.assign(new Error(`no page at ${window.location.hash}`), { kind: 'notFound' });
    }
    view = await found.page.render({ client, params, query, setQuery, isCurrent: () => current === generation });
  } catch (error) {
    view = h('div.page', null, errorBox(error));
    failed = true;
  }
  if (current !== generation) return;
  destroyCharts();
  main.replaceChildren(view);
  drawPending();
  main.classList.remove('busy');
  shownKey = key;
  if (!samePage) window.scrollTo(0, 0);
  if (focused) {
    const again = document.getElementById(focused.id);
    if (again) {
      again.focus();
      if (focused.start !== null && focused.start !== undefined && 'setSelectionRange' in again) {
        again.setSelectionRange(focused.start, focused.start);
      }
    }
  }
  document.title = `${view.dataset.title ? `${view.dataset.title} · ` : ''}OPG Model Hub`;
  if (failed) document.body.dataset.error = '1';
  document.body.dataset.ready = '1';
  refreshStatus();
}

window.addEventListener('hashchange', route);
setInterval(refreshStatus, 15_000);
route();
