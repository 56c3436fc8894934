/**
 * The explorer's charts, drawn with Chart.js: daily bar and line charts over a date axis, and
 * Lorenz curves. Only the Chart.js parts used here are registered, so the bundle carries no
 * more. Charts are tracked so the router can free them when the page changes.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from 'chart.js';
import { h, opgNumber } from './format.js';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip);

Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue('--font').trim() || 'system-ui, sans-serif';
Chart.defaults.font.size = 12;
Chart.defaults.color = '#5b6472';
Chart.defaults.borderColor = '#e6e8ec';
Chart.defaults.plugins.legend.labels.boxWidth = 12;
Chart.defaults.plugins.legend.labels.boxHeight = 12;
Chart.defaults.plugins.legend.labels.usePointStyle = true;

/** The series colours, in order of use. */
export const COLORS = ['#2f5bd3', '#0f9488', '#d97706', '#9b3fb5', '#6b7280'];

const live = new Set();
let pending = [];

/** Frees every chart drawn so far (the router calls it before showing a new page). */
export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live.clear();
}

/**
 * Draws the charts built since the last call whose canvas is now in the document (the router
 * calls it once a page is shown); the others belonged to a page that was never shown.
 */
export function drawPending() {
  const queued = pending;
  pending = [];
  for (const { canvas, config } of queued) {
    if (canvas.isConnected) live.add(new Chart(canvas, config));
  }
}

/** The most days a chart draws. */
const MAX_DAYS = 3660;

/**
 * Daily rows over the window's days (`used.fromDate` to `used.toDate`, else the first to the
 * last row), the days without a row filled in with zeros for `fields`, so the date axis has no
 * gaps.
 *
 * @param {Array<{ date: string }>} daily rows sorted by date
 * @param {string[]} fields
 * @param {{ fromDate?: string, toDate?: string } | undefined} used the window the node answered for
 */
export function fillDays(daily, fields, used) {
  if (!daily?.length) return [];
  const dayOf = (date) => new Date(`${date}T00:00:00Z`);
  let last = dayOf(used?.toDate ?? daily[daily.length - 1].date);
  if (Number.isNaN(last.getTime())) last = dayOf(daily[daily.length - 1].date);
  let day = dayOf(used?.fromDate ?? daily[0].date);
  // A window reaching far before the first row (a genesis without a timestamp) starts there.
  if (Number.isNaN(day.getTime()) || (last - day) / 86_400_000 > MAX_DAYS) day = dayOf(daily[0].date);
  const byDate = new Map(daily.map((row) => [row.date, row]));
  const rows = [];
  while (day <= last && rows.length < MAX_DAYS) {
    const date = day.toISOString().slice(0, 10);
    rows.push(byDate.get(date) ?? Object.fromEntries([['date', date], ...fields.map((field) => [field, 0])]));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return rows;
}

/** A titled box holding a chart's canvas, or a note when there is nothing to draw. */
function frame(title, empty, tall) {
  const canvas = h('canvas');
  const box = h(`div.chart-box${tall ? '.tall' : ''}`, null, empty ? h('p.empty', null, 'Nothing in this window.') : canvas);
  return { element: h('figure.chart', null, h('figcaption', null, title), box), canvas: empty ? null : canvas };
}

function draw(canvas, config) {
  pending.push({ canvas, config });
}

/**
 * A chart over days: `series` are `{ label, values, type: 'bar' | 'line', axis: 'y' | 'y2' }`;
 * `format` and `format2` write the left and right axis ticks and tooltips; `tooltip(value,
 * label)`, when given, writes the tooltips instead.
 *
 * @param {string} title
 * @param {string[]} dates
 * @param {Array<{ label: string, values: number[], type?: string, axis?: string }>} series
 * @param {{ format?: (n: number) => string, format2?: (n: number) => string, max?: number,
 *   tooltip?: (value: number, label: string) => string }} [options]
 * @returns {HTMLElement}
 */
export function dailyChart(title, dates, series, { format = String, format2 = String, max, tooltip } = {}) {
  const { element, canvas } = frame(title, dates.length === 0);
  if (!canvas) return element;
  const hasRight = series.some((s) => s.axis === 'y2');
  const formats = { y: format, y2: format2 };
  draw(canvas, {
    type: 'bar',
    data: {
      labels: dates,
      datasets: series.map((s, i) => ({
        type: s.type ?? 'bar',
        label: s.label,
        data: s.values,
        yAxisID: s.axis ?? 'y',
        backgroundColor: s.type === 'line' ? COLORS[i % COLORS.length] : `${COLORS[i % COLORS.length]}cc`,
        borderColor: COLORS[i % COLORS.length],
        borderWidth: s.type === 'line' ? 2 : 0,
        pointRadius: dates.length <= 3 ? 7 : dates.length > 40 ? 0 : 2,
        tension: 0.2,
        maxBarThickness: 28,
        pointStyle: s.type === 'line' ? 'line' : 'rect',
        order: s.type === 'line' ? 0 : 1,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { display: series.length > 1, position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (context) => `${context.dataset.label}: ${
              tooltip ? tooltip(context.parsed.y, context.dataset.label) : formats[context.dataset.yAxisID](context.parsed.y)}`,
          },
        },
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
        y: { beginAtZero: true, max, ticks: { callback: (value) => format(value), maxTicksLimit: 6 } },
        ...(hasRight
          ? { y2: { position: 'right', beginAtZero: true, grid: { display: false }, ticks: { callback: (value) => format2(value), maxTicksLimit: 6 } } }
          : {}),
      },
    },
  });
  return element;
}

/**
 * The daily calls and daily royalties charts of a model's or an uploader's usage, side by side.
 *
 * @param {Array<{ date: string, calls: number, royalties: string }>} daily one entry per day
 * @returns {HTMLElement}
 */
export function usageCharts(daily) {
  const dates = daily.map((d) => d.date);
  return h('div.chart-grid', null,
    dailyChart('Daily calls', dates, [{ label: 'Calls', values: daily.map((d) => d.calls) }], { format: compact }),
    dailyChart('Daily earnings (royalties, OPG)', dates, [
      { label: 'Royalties', values: daily.map((d) => opgNumber(d.royalties)) },
    ], { format: amount }));
}

/**
 * Lorenz curves: for each series, `points` are `[x, y]` pairs (the poorest `x` share of models
 * holds the `y` share of the total), drawn with the line of equality.
 *
 * @param {string} title
 * @param {Array<{ label: string, points: Array<[number, number]> }>} series
 * @returns {HTMLElement}
 */
export function lorenzChart(title, series) {
  const empty = series.every((s) => !s.points?.length);
  const { element, canvas } = frame(title, empty, true);
  if (!canvas) return element;
  const pct = (value) => `${Math.round(value * 100)}%`;
  draw(canvas, {
    type: 'line',
    data: {
      datasets: [
        ...series.map((s, i) => ({
          label: s.label,
          data: (s.points ?? []).map(([x, y]) => ({ x: Number(x), y: Number(y) })),
          borderColor: COLORS[i % COLORS.length],
          backgroundColor: COLORS[i % COLORS.length],
          borderWidth: 2,
          pointRadius: 0,
          pointHoverRadius: 3,
          pointStyle: 'line',
        })),
        {
          label: 'Equality',
          data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
          borderColor: '#9ca3af',
          backgroundColor: '#9ca3af',
          borderDash: [5, 4],
          borderWidth: 1,
          pointRadius: 0,
          pointStyle: 'line',
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'nearest', intersect: false },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (context) => `${context.dataset.label}: the ${pct(context.parsed.x)} least-called models hold ${pct(context.parsed.y)}`,
          },
        },
      },
      scales: {
        x: {
          type: 'linear', min: 0, max: 1,
          title: { display: true, text: 'share of models (least called first)' },
          ticks: { callback: pct, stepSize: 0.25 },
        },
        y: {
          min: 0, max: 1,
          title: { display: true, text: 'cumulative share' },
          ticks: { callback: pct, stepSize: 0.25 },
        },
      },
    },
  });
  return element;
}

/** A compact axis label for a count (1200 → "1.2k"). */
export function compact(value) {
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

/** An axis label for an amount of OPG (0.0125, 3.5, 1.2k). */
export function amount(value) {
  if (Math.abs(value) >= 1000) return compact(value);
  return new Intl.NumberFormat('en', { maximumSignificantDigits: 4 }).format(value);
}
