/**
 * A worker's page (`#/worker/<ss58>`, `hubindex_worker`): its bond and registration, the
 * models it holds ready, and its jobs, calls, earnings and slashes over the chosen window.
 */
import { amount, compact, dailyChart, fillDays } from '../charts.js';
import { account, count, h, opgNumber } from '../format.js';
import { balance, bigBalance, facts, figure, figures, heading, link, modelLink, section, windowOf, windowPicker } from '../ui.js';

/**
 * Loads and draws a worker's page.
 *
 * @param {{ client: any, params: { account: string }, query: URLSearchParams, setQuery: Function }} context
 * @returns {Promise<HTMLElement>}
 */
export async function render({ client, params, query, setQuery }) {
  const span = windowOf(query);
  const answer = await client.call('hubindex_worker', [params.account, span.param]);
  const { totals } = answer;
  const daily = fillDays(answer.daily ?? [], ['jobs', 'calls', 'earnings', 'slashed'], answer.window);
  const dates = daily.map((d) => d.date);
  const registered = answer.registered !== null && answer.registered !== undefined;

  return h('div.page', { dataset: { title: `Worker ${account(answer.account)}` } },
    heading(h('span', null, link('#/', 'Catalog'), ' / Worker'), account(answer.account),
      h(`span.badge.${registered ? 'state-active' : 'state-retired'}`, null, registered ? 'registered' : 'not registered')),
    h('p.address', null, h('code', null, answer.account), ' · ', link(`#/uploader/${answer.account}`, 'as an uploader')),
    section('Registration', facts([
      ['Bond', h('span', { 'data-testid': 'worker-bond', 'data-value': String(answer.bond ?? '') }, balance(answer.bond))],
      ['Registered', h('span', { 'data-testid': 'worker-registered' }, registered ? `block #${count(answer.registered)}` : 'not registered')],
      ['Ready models', answer.ready?.length
        ? h('span.links', { 'data-testid': 'worker-ready' }, answer.ready.map((id) => modelLink(id, `#${id}`)))
        : h('span', { 'data-testid': 'worker-ready' }, 'none')],
    ])),
    section('Work',
      windowPicker(span, answer.window, (entries) => setQuery(entries)),
      figures(
        figure('Jobs', count(totals.jobs), { testid: 'worker-jobs', value: totals.jobs }),
        figure('Calls', count(totals.calls), { testid: 'worker-calls', value: totals.calls }),
        figure('Earnings', bigBalance(totals.earnings), { testid: 'worker-earnings', value: totals.earnings }),
        figure('Slashes', h('span', null, count(totals.slashes), totals.slashes ? h('span.muted.small', null, ' · ', balance(totals.slashed)) : null),
          { testid: 'worker-slashes', value: totals.slashes }),
      ),
      h('div.chart-grid', null,
        dailyChart('Daily earnings (OPG)', dates, [
          { label: 'Earnings', values: daily.map((d) => opgNumber(d.earnings)) },
          { label: 'Slashed', values: daily.map((d) => opgNumber(d.slashed)) },
        ], { format: amount }),
        dailyChart('Daily jobs and calls', dates, [
          { label: 'Jobs', values: daily.map((d) => d.jobs) },
          { label: 'Calls', values: daily.map((d) => d.calls), type: 'line' },
        ], { format: compact }))));
}
