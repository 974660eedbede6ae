// Puts a memorization result (SPEC §4) on the page: the headline accuracies, the group table,
// histograms of the memorization scores, the most memorized rows, the tracing curves, the
// mitigations before and after, and the exports. Every number comes from the core's result,
// except the binomial standard errors of accuracies, which are computed here from the
// accuracy and the row count and marked as not in the paper.
import { barChart, histograms, lineChart, palette } from './charts.js';
import { el, oursTag } from './render.js';

const $ = (id) => document.getElementById(id);

const pct = (v, digits = 1) => (Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '–');
const points = (v) => (Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(1)}` : '–');
const score = (v) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const int = (v) => (Number.isFinite(v) ? v.toLocaleString('en-US') : '–');
const quoted = (name) => `“${name}”`;
/** Standard error of an accuracy p measured on n rows. */
const binomialSe = (p, n) => (n > 0 && Number.isFinite(p) ? Math.sqrt((p * (1 - p)) / n) : NaN);
const pmPoints = (se) => (Number.isFinite(se) ? `± ${(100 * se).toFixed(1)}` : '');

function listText(items) {
  if (new Set(items).size === 1) return items[0]; // "100% and 100%" reads as one value
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

const minorityTag = () => el('span', { class: 'minority-tag' }, 'minority');
const cell = (tag, text, data, cls = 'num') => el(tag, { class: cls, dataset: data }, text);

let current = null; // the run on the page, for redraws and the chart choices

// ---------------------------------------------------------------- whole view

const SECTIONS = ['mem-finding', 'mem-hist-section', 'mem-top-section', 'mem-tracing-section', 'mem-mitigation-section'];

export function reset(run) {
  current = null;
  $('mem-results-title').textContent = run.title;
  $('mem-subtitle').textContent = run.subtitle;
  $('mem-empty').hidden = true;
  $('mem-body').hidden = true;
  for (const id of SECTIONS) $(id).hidden = true;
}

/** After a run that ended without a result (cancelled, or an error). */
export function nothing(run, message) {
  if (run.result) return;
  $('mem-empty').textContent = message;
  $('mem-empty').hidden = false;
}

export function empty(message) {
  current = null;
  $('mem-results-title').textContent = 'Results';
  $('mem-subtitle').textContent = '';
  $('mem-body').hidden = true;
  $('mem-finding').hidden = true;
  $('mem-empty').textContent = message;
  $('mem-empty').hidden = false;
}

export function show(run) {
  current = run;
  const r = run.result;
  run.colors = palette(r.groups.length);
  $('mem-body').hidden = false;
  $('mem-finding').textContent = finding(r);
  $('mem-finding').hidden = false;
  headline(r);
  settings(run);
  warnings(r);
  groupTable(run);
  const methods = ['memorization', 'ridge'].filter((m) => r[m]);
  $('mem-method').hidden = methods.length < 2;
  if (!methods.includes(method())) document.querySelector(`input[name="mem-method"][value="${methods[0] ?? 'memorization'}"]`).checked = true;
  scores(run);
  tracingChoices(r);
  tracing(run);
  mitigation(run);
}

/** Draws the charts again at the current width (after a resize, or once the view is shown). */
export function redraw(run) {
  if (!run?.result || run !== current) return;
  scoresChart(run);
  tracingCharts(run);
  mitigationChart(run);
}

/** The chart choices redraw their part of the current run. */
export function wire() {
  for (const input of document.querySelectorAll('input[name="mem-method"]')) input.addEventListener('change', () => current && scores(current));
  $('mem-neurons').addEventListener('change', () => {
    if (!current) return;
    tracingChoices(current.result);
    tracing(current);
  });
  $('mem-ranking').addEventListener('change', () => current && tracing(current));
}

// ---------------------------------------------------------------- headline

const classCount = (r) => new Set(r.groups.flatMap((g) => g.label.split(', '))).size;

function worstGroup(r, split) {
  const key = `${split}_acc`;
  const target = r[`worst_group_${split}_acc`];
  return r.groups.find((g) => g[key] === target) ?? null;
}

/** One plain sentence on whether the table shows the paper's signature of memorization. */
export function finding(r) {
  const minority = r.groups.filter((g) => g.minority);
  const majority = r.groups.filter((g) => !g.minority);
  if (!minority.length) {
    return `No group is a minority here (each has at least 1/${r.groups.length} of the training rows), so the table cannot show the paper's signature of memorization.`;
  }
  const mean = (gs, f) => gs.map(f).filter(Number.isFinite).reduce((s, v, _, a) => s + v / a.length, 0);
  const names = minority.length > 1 ? `${minority.slice(0, -1).map((g) => quoted(g.group)).join(', ')} and ${quoted(minority.at(-1).group)}` : quoted(minority[0].group);
  const plural = minority.length > 1;
  const minorityGap = mean(minority, (g) => g.gap);
  const majorityGap = majority.length ? mean(majority, (g) => g.gap) : 0;
  const each = (gs, f) => listText(gs.map(f));
  let text;
  if (minorityGap - majorityGap >= 0.1 && mean(minority, (g) => g.train_acc) >= 0.9) {
    text = `Signs of memorization: the minority group${plural ? 's' : ''} ${names} ${plural ? 'are' : 'is'} classified right on `
      + `${each(minority, (g) => pct(g.train_acc, 0))} of ${plural ? 'their' : 'its'} training rows but only on `
      + `${each(minority, (g) => pct(g.test_acc, 0))} of ${plural ? 'their' : 'its'} test rows`
      + `${majority.length ? `; the majority groups lose ${each(majority, (g) => `${(100 * g.gap).toFixed(0)}`)} points from training to test` : ''}.`;
  } else {
    text = `No clear sign of memorization: the minority group${plural ? 's' : ''} ${names} lose${plural ? '' : 's'} `
      + `${(100 * minorityGap).toFixed(0)} points of accuracy from training to test rows on average, `
      + `the majority groups ${(100 * majorityGap).toFixed(0)}.`;
  }
  if (r.memorization && majority.length) {
    const m = (gs) => score(mean(gs, (g) => g.memorization?.mean));
    text += ` Mean memorization score: ${m(minority)} for the minority group${plural ? 's' : ''}, ${m(majority)} for the majority groups (0 = none, 1 = fully memorized).`;
  }
  return text;
}

function headline(r) {
  const chance = 1 / classCount(r);
  const worst = worstGroup(r, 'test');
  const worstSe = worst ? binomialSe(r.worst_group_test_acc, worst.n_test) : NaN;
  const seNote = () => el('span', { class: 'fine' }, '(standard error, ', oursTag(), ')');
  $('mem-worst').textContent = pct(r.worst_group_test_acc);
  $('mem-worst').dataset.value = String(r.worst_group_test_acc);
  $('mem-worst-se').replaceChildren(pmPoints(worstSe), ' ', seNote());
  $('mem-worst-words').textContent = worst
    ? `The group the head gets wrong most often on test rows, ${quoted(worst.group)}${worst.minority ? ' (a minority group)' : ''}, `
      + `is classified right on ${pct(worst.test_acc)} of its ${int(worst.n_test)} test rows, against ${pct(worst.train_acc)} of its `
      + `${int(worst.n_train)} training rows. Guessing would get ${pct(chance, 0)}.`
    : 'No group has test rows.';
  const nTest = r.groups.reduce((s, g) => s + g.n_test, 0);
  const nTrain = r.groups.reduce((s, g) => s + g.n_train, 0);
  $('mem-average').textContent = pct(r.average_test_acc);
  $('mem-average').dataset.value = String(r.average_test_acc);
  $('mem-average-se').replaceChildren(pmPoints(binomialSe(r.average_test_acc, nTest)), ' ', seNote());
  $('mem-average-words').textContent = `Of all ${int(nTest)} test rows, ${pct(r.average_test_acc)} are classified right; of all `
    + `${int(nTrain)} training rows, ${pct(r.average_train_acc)}. The average counts every row once, so small groups weigh little in it.`;
}

function settings(run) {
  const r = run.result;
  const o = r.parameters.options;
  const parts = [`head: ${r.head}`];
  if (o.memorization) parts.push(`${o.memorization.models} heads refitted on ${pct(o.memorization.fraction, 0)} subsets, seed ${o.memorization.seed}`);
  if (o.ridge_alpha != null) parts.push(`ridge alpha ${o.ridge_alpha}`);
  if (o.tracing) parts.push(`tracing by ${ABLATION[o.tracing.ablation]}`);
  if (o.mlp) parts.push(`an MLP head with ${o.mlp.hidden} hidden units traced too`);
  if (o.consistency || o.dfr) parts.push('mitigation');
  $('mem-params').textContent = `Settings: ${parts.join(' · ')}.`;
}

function warnings(r) {
  $('mem-warnings').replaceChildren(...r.warnings.map((w) => el('li', {}, `${w.charAt(0).toUpperCase()}${w.slice(1)}.`)));
}

// ---------------------------------------------------------------- group table

const swatch = (color) => {
  const s = el('span', { class: 'swatch', 'aria-hidden': 'true' });
  s.style.background = color;
  return s;
};

function groupTable(run) {
  const r = run.result;
  const nTrain = r.groups.reduce((s, g) => s + g.n_train, 0);
  const nTest = r.groups.reduce((s, g) => s + g.n_test, 0);
  const explicit = r.parameters.minority;
  $('mem-groups-subtitle').textContent = `Accuracy of ${r.head} on each group's training and test rows (± standard error), `
    + 'the gap between them, and the mean memorization score of its training rows (± SEM). '
    + `${explicit ? `Minority groups as you named them: ${listText(explicit.map(quoted))}.` : `A group is a minority when it has less than 1/${r.groups.length} (${pct(1 / r.groups.length, 0)}) of the training rows.`}`;
  const caption = $('mem-groups-caption');
  caption.textContent = 'Accuracy and memorization per group; minority groups shaded.';
  const columns = [
    ['Training rows'], ['Test rows'], ['Training accuracy'], ['Test accuracy'], ['Gap (points)', 'Training minus test accuracy, in percentage points'],
    ...(r.memorization ? [['Memorization score', 'Mean memorization score from subset refits, with its standard error']] : []),
    ...(r.ridge ? [['Ridge leave-one-out score', 'Mean memorization score from the exact leave-one-out of a ridge head, with its standard error']] : []),
  ];
  const head = el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Group'),
    columns.map(([title, long]) => el('th', { scope: 'col', class: 'num', title: long ?? null }, title))));
  const body = el('tbody', {}, r.groups.map((g, i) => el('tr', { class: g.minority ? 'minority' : null, dataset: { group: g.group, minority: String(g.minority) } },
    el('th', { scope: 'row' }, el('span', { class: 'group-name' }, swatch(run.colors[i]), ' ', g.group), g.minority ? minorityTag() : null),
    cell('td', [`${int(g.n_train)} `, el('span', { class: 'fine' }, `(${pct(g.n_train / nTrain, 1)})`)], { key: 'n_train', value: g.n_train }),
    cell('td', int(g.n_test), { key: 'n_test', value: g.n_test }),
    cell('td', accuracyText(g.train_acc, g.n_train), { key: 'train_acc', value: g.train_acc }),
    cell('td', accuracyText(g.test_acc, g.n_test), { key: 'test_acc', value: g.test_acc }),
    cell('td', points(g.gap), { key: 'gap', value: g.gap }, g.gap >= 0.1 ? 'num gap-big' : 'num'),
    r.memorization ? cell('td', distributionText(g.memorization), { key: 'memorization', value: g.memorization?.mean }) : null,
    r.ridge ? cell('td', distributionText(g.ridge_memorization), { key: 'ridge', value: g.ridge_memorization?.mean }) : null)));
  const blank = () => columns.slice(4).map(() => el('td', {}));
  const foot = el('tfoot', {},
    el('tr', {}, el('th', { scope: 'row' }, 'Worst group'), el('td', {}), el('td', {}),
      cell('td', accuracyText(r.worst_group_train_acc, worstGroup(r, 'train')?.n_train), { key: 'worst_train', value: r.worst_group_train_acc }),
      cell('td', accuracyText(r.worst_group_test_acc, worstGroup(r, 'test')?.n_test), { key: 'worst_test', value: r.worst_group_test_acc }), blank()),
    el('tr', {}, el('th', { scope: 'row' }, 'All rows (average)'),
      cell('td', int(nTrain), {}), cell('td', int(nTest), {}),
      cell('td', accuracyText(r.average_train_acc, nTrain), { key: 'average_train', value: r.average_train_acc }),
      cell('td', accuracyText(r.average_test_acc, nTest), { key: 'average_test', value: r.average_test_acc }), blank()));
  $('mem-groups-table').replaceChildren(caption, head, body, foot);
  const notes = [
    `Accuracy: the share of the group's rows the head classifies right; guessing would get ${pct(1 / classCount(r), 0)}. `
      + '± is its standard error √(p(1−p)/n), computed here (not in the paper).',
    'Gap: training minus test accuracy. A large gap for the minority groups only is the paper\'s signature of memorization: '
      + 'the head learnt those training rows one by one instead of a rule that carries over to new rows.',
  ];
  if (r.memorization) notes.push(`Memorization score (${r.memorization.method}): how much more often a training row is classified right by the heads that saw it than by those that did not (Feldman and Zhang 2020). 0: not memorized; 1: right only when seen. ± is the standard error of the group's mean.`);
  if (r.ridge) notes.push(`Ridge leave-one-out score (${r.ridge.method}): 1 when the row is right with it and wrong without it, −1 the reverse, else 0.`);
  $('mem-groups-notes').replaceChildren(...notes.map((n) => el('li', {}, n)));
}

const accuracyText = (p, n) => [pct(p), ' ', el('span', { class: 'se' }, pmPoints(binomialSe(p, n)))];
const distributionText = (d) => (d && d.n ? `${score(d.mean)} ± ${score(d.sem)}` : '–');

// ---------------------------------------------------------------- memorization scores

const method = () => document.querySelector('input[name="mem-method"]:checked')?.value ?? 'memorization';
const METHOD_NAMES = { memorization: 'subset refits', ridge: 'ridge leave-one-out' };
const distributionOf = (g, m) => (m === 'ridge' ? g.ridge_memorization : g.memorization);

function scores(run) {
  const r = run.result;
  const m = method();
  const s = r[m];
  $('mem-hist-section').hidden = !s;
  $('mem-top-section').hidden = !s;
  if (!s) return;
  $('mem-hist-subtitle').textContent = `Scores by ${s.method}, for the ${int(s.per_row.filter(Number.isFinite).length)} training rows that have one.`;
  scoresChart(run);
  const caption = $('mem-hist-caption');
  caption.textContent = `Training rows per score range (${METHOD_NAMES[m]}), by group.`;
  const bins = Array.from({ length: 20 }, (_, j) => [-1 + j / 10, -1 + (j + 1) / 10]);
  const dists = r.groups.map((g) => distributionOf(g, m));
  const used = bins.map((_, j) => j).filter((j) => dists.some((d) => d?.histogram[j] > 0));
  const head = el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Score'), r.groups.map((g) => el('th', { scope: 'col', class: 'num' }, g.group, g.minority ? minorityTag() : null))));
  const body = el('tbody', {},
    el('tr', {}, el('th', { scope: 'row' }, 'mean ± SEM'), dists.map((d) => el('td', { class: 'num' }, distributionText(d)))),
    used.map((j) => el('tr', {}, el('th', { scope: 'row' }, `${bins[j][0].toFixed(1)} to ${j === 19 ? '1.0 (inclusive)' : `under ${bins[j][1].toFixed(1)}`}`),
      dists.map((d) => el('td', { class: 'num' }, d ? `${d.histogram[j]} (${pct(d.histogram[j] / d.n, 0)})` : '–')))));
  $('mem-hist-table').replaceChildren(caption, head, body);
  topRows(run, s, m);
}

function scoresChart(run) {
  const r = run.result;
  const m = method();
  if (!r[m]) return;
  const panels = r.groups.map((g, i) => {
    const d = distributionOf(g, m);
    return { title: `${g.group}${g.minority ? ' · minority' : ''} (${int(d.n)} rows)`, color: run.colors[i], counts: d.histogram, mean: d.mean, meanText: `mean ${distributionText(d)}` };
  });
  histograms($('mem-hist'), { panels, lo: -1, hi: 1, xLabel: 'memorization score (bars: share of the group\'s training rows in each step of 0.1)' });
  $('mem-hist').setAttribute('aria-label', `Histograms of the memorization scores (${METHOD_NAMES[m]}), one per group: `
    + r.groups.map((g) => `${g.group}${g.minority ? ' (minority)' : ''} mean ${score(distributionOf(g, m).mean)}`).join('; ') + '. The numbers are in the table below.');
}

function topRows(run, s, m) {
  const r = run.result;
  const minority = new Map(r.groups.map((g) => [g.group, g.minority]));
  const ids = s.top.some((t) => t.id != null);
  const meta = (run.metadata ?? []).filter((c) => c.name !== r.parameters.ids?.field);
  $('mem-top-subtitle').textContent = `The ${s.top.length} training rows with the highest score (${METHOD_NAMES[m]}), highest first. `
    + 'Row: the position in the embeddings file, counting from 0.'
    + `${meta.length ? ' Beside them, the columns of the metadata table for that row.' : ''}`;
  const caption = $('mem-top-caption');
  caption.textContent = `Most memorized training rows (${METHOD_NAMES[m]}).`;
  const head = el('thead', {}, el('tr', {},
    el('th', { scope: 'col', class: 'num' }, 'Rank'), el('th', { scope: 'col', class: 'num' }, 'Row'),
    ids ? el('th', { scope: 'col' }, `Id (${r.parameters.ids.field ?? r.parameters.ids.file})`) : null,
    el('th', { scope: 'col' }, 'Group'), el('th', { scope: 'col', class: 'num' }, 'Score'),
    meta.map((c) => el('th', { scope: 'col' }, c.name))));
  const body = el('tbody', {}, s.top.map((t, i) => el('tr', { class: minority.get(t.group) ? 'minority' : null },
    el('td', { class: 'num' }, String(i + 1)), el('th', { scope: 'row', class: 'num' }, String(t.row)),
    ids ? el('td', {}, t.id ?? '') : null,
    el('td', {}, t.group, minority.get(t.group) ? minorityTag() : null),
    cell('td', score(t.score), { value: t.score }),
    meta.map((c) => el('td', {}, c.values[t.row] ?? '')))));
  $('mem-top-table').replaceChildren(caption, head, body);
}

// ---------------------------------------------------------------- tracing

const ABLATION = { zero: 'setting it to 0', mean: 'setting it to its training mean', noise: 'adding Gaussian noise (averaged over repeats)' };

function tracings(r) {
  return [r.tracing, r.mlp_tracing].filter(Boolean);
}

function tracingChoices(r) {
  const all = tracings(r);
  $('mem-tracing-section').hidden = !all.length;
  if (!all.length) return;
  const neurons = $('mem-neurons');
  const keep = Number(neurons.value) || 0;
  neurons.replaceChildren(...all.map((t, i) => el('option', { value: String(i) }, t.neurons)));
  neurons.value = String(Math.min(keep, all.length - 1));
  $('mem-neurons-field').hidden = all.length < 2;
  const t = all[Number(neurons.value)];
  const ranking = $('mem-ranking');
  const keepRanking = Number(ranking.value) || 0;
  ranking.replaceChildren(...t.curves.map((c, i) => el('option', { value: String(i) }, c.ranking)));
  ranking.value = String(Math.min(keepRanking, t.curves.length - 1));
}

function selectedCurve(r) {
  const t = tracings(r)[Number($('mem-neurons').value) || 0];
  return t ? { t, curve: t.curves[Number($('mem-ranking').value) || 0] } : null;
}

function tracing(run) {
  const r = run.result;
  const chosen = selectedCurve(r);
  if (!chosen) return;
  const { t, curve } = chosen;
  const d = curve.order.length;
  $('mem-tracing-subtitle').textContent = `The ${d} ${t.neurons} are the neurons; one is switched off by ${ABLATION[t.ablation]}. `
    + `Ranked by the norm of the head's weights on each neuron, or by the gradient of the loss on the hardest training rows of ${quoted(t.target_group)} `
    + '(the minority group with the lowest test accuracy, unless another was asked for).';
  // The change after switching off about 5% of the neurons, in words.
  const target = Math.max(1, Math.round(0.05 * d));
  const at = curve.ablated.reduce((best, m, j) => (m > 0 && m <= target ? j : best), 1);
  const m = curve.ablated[at];
  const before = curve.points[0];
  const after = curve.points[at];
  const words = $('mem-tracing-words');
  words.replaceChildren(
    `Switching off the top ${m} of ${d} neurons (${pct(m / d, 1)}), ranked by ${curve.ranking}, changes each group's accuracy so:`,
    el('ul', { class: 'findings' }, r.groups.map((g, i) => el('li', {}, el('strong', {}, g.group), g.minority ? minorityTag() : null,
      `: training rows ${pct(before.train[i])} → ${pct(after.train[i])} (${points(after.train[i] - before.train[i])} points), `
      + `test rows ${pct(before.test[i])} → ${pct(after.test[i])} (${points(after.test[i] - before.test[i])}).`))));
  tracingCharts(run);
  traceTables(r, t, curve);
}

function tracingCharts(run) {
  const r = run.result;
  const chosen = selectedCurve(r);
  if (!chosen) return;
  const { curve } = chosen;
  const categories = curve.ablated.map(String);
  for (const split of ['train', 'test']) {
    const series = r.groups.map((g, i) => ({
      name: `${g.group}${g.minority ? ' (minority)' : ''}`,
      color: run.colors[i],
      shape: g.minority ? 'square' : 'circle',
      dash: g.minority ? [] : [6, 4],
      values: curve.points.map((p) => 100 * p[split][i]),
    }));
    const canvas = $(`mem-trace-${split}`);
    lineChart(canvas, { categories, series, yLabel: 'accuracy (%)', xLabel: 'top-ranked neurons switched off', height: 320 });
    canvas.setAttribute('aria-label', `Line chart: accuracy on the ${split === 'train' ? 'training' : 'test'} rows of each group against the number of top-ranked neurons switched off (${curve.ranking}); the numbers are in the table below.`);
  }
}

function traceTables(r, t, curve) {
  const groupHeads = (suffix) => r.groups.flatMap((g) => ['training', 'test'].map((s) => el('th', { scope: 'col', class: 'num' }, `${g.group}${g.minority ? ' (minority)' : ''}: ${s}${suffix}`)));
  const caption = $('mem-trace-caption');
  caption.textContent = 'Accuracy after switching off the top-ranked neurons.';
  $('mem-trace-table').replaceChildren(caption,
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', class: 'num' }, 'Switched off'), groupHeads(''))),
    el('tbody', {}, curve.ablated.map((m, j) => el('tr', {}, el('th', { scope: 'row', class: 'num' }, String(m)),
      r.groups.flatMap((_, i) => [curve.points[j].train[i], curve.points[j].test[i]].map((v) => el('td', { class: 'num' }, pct(v))))))));
  const pruningCaption = $('mem-pruning-caption');
  pruningCaption.textContent = 'Unstructured variant: accuracy after zeroing the largest head weights.';
  $('mem-pruning-table').replaceChildren(pruningCaption,
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', class: 'num' }, 'Largest weights zeroed'), groupHeads(''))),
    el('tbody', {}, t.pruning.map((p) => el('tr', {}, el('th', { scope: 'row', class: 'num' }, `${p.percent}% (${p.weights_zeroed})`),
      r.groups.flatMap((_, i) => [p.accuracies.train[i], p.accuracies.test[i]].map((v) => el('td', { class: 'num' }, pct(v))))))));
}

// ---------------------------------------------------------------- mitigation

const METHOD_KEY = (m) => (m.method.startsWith('consistency') ? 'consistency' : m.method.startsWith('DFR') ? 'dfr' : m.method);
const METHOD_TITLE = { consistency: 'Consistency training (the paper)', dfr: 'DFR (a standard baseline)' };

function mitigation(run) {
  const r = run.result;
  $('mem-mitigation-section').hidden = !r.mitigation.length;
  if (!r.mitigation.length) return;
  const before = r.mitigation[0].before;
  const worstN = (acc) => r.groups[acc.test.indexOf(acc.worst_group_test)]?.n_test;
  const nTest = r.groups.reduce((s, g) => s + g.n_test, 0);
  $('mem-mitigation-subtitle').textContent = `Each method starts from ${r.head} and is judged on the test rows. `
    + 'Consistency training (the paper\'s method): cross-entropy × 0.2 plus a consistency loss between the head and the head with a mask. '
    + 'DFR (Kirichenko et al. 2022): the last layer refitted on group-balanced subsets.';
  $('mem-mitigation-words').replaceChildren(...r.mitigation.map((m) => el('li', {}, el('strong', {}, `${METHOD_TITLE[METHOD_KEY(m)] ?? m.method}: `),
    `worst-group test accuracy ${pct(m.before.worst_group_test)} → ${pct(m.after.worst_group_test)} (${points(m.after.worst_group_test - m.before.worst_group_test)} points), `
    + `average ${pct(m.before.average_test)} → ${pct(m.after.average_test)} (${points(m.after.average_test - m.before.average_test)}). `
    + `${m.details.charAt(0).toUpperCase()}${m.details.slice(1)}.`)));
  mitigationChart(run);
  const columns = [{ key: 'before', title: 'Before', acc: before }, ...r.mitigation.map((m) => ({ key: METHOD_KEY(m), title: METHOD_TITLE[METHOD_KEY(m)] ?? m.method, acc: m.after }))];
  const caption = $('mem-mitigation-caption');
  caption.textContent = 'Test accuracy ± standard error (change from before).';
  const value = (c, measure, v, n, base) => el('td', { class: 'num', dataset: { method: c.key, measure, value: v } },
    accuracyText(v, n), c.key === 'before' ? null : el('span', { class: 'fine' }, ` (${points(v - base)})`));
  const rows = [
    el('tr', {}, el('th', { scope: 'row' }, 'Worst group'), columns.map((c) => value(c, 'worst_test', c.acc.worst_group_test, worstN(c.acc), before.worst_group_test))),
    el('tr', {}, el('th', { scope: 'row' }, 'All rows (average)'), columns.map((c) => value(c, 'average_test', c.acc.average_test, nTest, before.average_test))),
    ...r.groups.map((g, i) => el('tr', { class: g.minority ? 'minority' : null }, el('th', { scope: 'row' }, g.group, g.minority ? minorityTag() : null),
      columns.map((c) => value(c, `group ${i}`, c.acc.test[i], g.n_test, before.test[i])))),
  ];
  $('mem-mitigation-table').replaceChildren(caption,
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Test accuracy'), columns.map((c) => el('th', { scope: 'col', class: 'num' }, c.title)))),
    el('tbody', {}, rows));
}

function mitigationChart(run) {
  const r = run.result;
  if (!r.mitigation.length) return;
  const states = [r.mitigation[0].before, ...r.mitigation.map((m) => m.after)];
  const nTest = r.groups.reduce((s, g) => s + g.n_test, 0);
  const worstN = (acc) => r.groups[acc.test.indexOf(acc.worst_group_test)]?.n_test;
  barChart($('mem-mitigation-chart'), {
    categories: ['before', ...r.mitigation.map((m) => ({ dfr: 'DFR', consistency: 'consistency' }[METHOD_KEY(m)] ?? m.method))],
    series: [
      { name: 'worst-group test accuracy', color: '#b45309', values: states.map((a) => 100 * a.worst_group_test), errors: states.map((a) => 100 * binomialSe(a.worst_group_test, worstN(a))) },
      { name: 'average test accuracy', color: '#1d4ed8', values: states.map((a) => 100 * a.average_test), errors: states.map((a) => 100 * binomialSe(a.average_test, nTest)) },
    ],
    yLabel: 'test accuracy (%)',
    height: 260,
  });
  $('mem-mitigation-chart').setAttribute('aria-label', 'Bar chart of worst-group and average test accuracy before and after each mitigation; the numbers are in the table below.');
}

// ---------------------------------------------------------------- export

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const csvText = (v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const csvNumber = (v) => (v == null || !Number.isFinite(v) ? '' : String(v));

export function exportJson(run) {
  download(`${run.fileStem}.json`, 'application/json', `${JSON.stringify(run.result, null, 2)}\n`);
}

export function exportGroups(run) {
  const lines = ['group,label,attr,minority,n_train,n_test,train_acc,test_acc,gap,memorization_n,memorization_mean,memorization_sem,ridge_n,ridge_mean,ridge_sem'];
  for (const g of run.result.groups) {
    const m = g.memorization;
    const rg = g.ridge_memorization;
    lines.push([csvText(g.group), csvText(g.label), csvText(g.attr), String(g.minority), g.n_train, g.n_test, csvNumber(g.train_acc), csvNumber(g.test_acc), csvNumber(g.gap),
      csvNumber(m?.n), csvNumber(m?.mean), csvNumber(m?.sem), csvNumber(rg?.n), csvNumber(rg?.mean), csvNumber(rg?.sem)].join(','));
  }
  download(`${run.fileStem}-groups.csv`, 'text/csv', `${lines.join('\n')}\n`);
}

/** Per training row: its scores, and its id when the page could read the id column. */
export function exportRows(run) {
  const r = run.result;
  const base = r.memorization ?? r.ridge;
  if (!base) return;
  const lines = [`row${run.ids ? ',id' : ''}${r.memorization ? ',memorization' : ''}${r.ridge ? ',ridge_leave_one_out' : ''}`];
  base.training_rows.forEach((row, i) => {
    lines.push([String(row), ...(run.ids ? [csvText(run.ids[row] ?? '')] : []),
      ...(r.memorization ? [csvNumber(r.memorization.per_row[i])] : []), ...(r.ridge ? [csvNumber(r.ridge.per_row[i])] : [])].join(','));
  });
  download(`${run.fileStem}-rows.csv`, 'text/csv', `${lines.join('\n')}\n`);
}
