// Puts a run's results on the page: headline numbers with what they mean, the layer chart,
// the per-class chart and table, the scatter plot, warnings and exports.
import { barChart, lineChart, palette, Scatter } from './charts.js';
import { shapeText } from './sources.js';

const $ = (id) => document.getElementById(id);
const OURS = 'not in the paper';
const COLORS = { a: '#c2410c', b: '#1d4ed8', graph: '#2563eb', euclid: '#0f766e', chance: '#dc2626' };

export const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const pct = (v, digits = 1) => (Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '–');
const int = (v) => (Number.isFinite(v) ? v.toLocaleString('en-US') : '–');
const sem = (v) => (Number.isFinite(v) ? `± ${fmt(v)}` : '± n/a');

/** Builds an element: el('p', {class: 'x'}, 'text', child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.flat().filter((c) => c != null && c !== false));
  return node;
}

export const oursTag = () => el('span', { class: 'ours-tag' }, OURS);

// ---------------------------------------------------------------- loaded files (both views)

function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

function contents(summary) {
  const arrays = summary.arrays.map((a) => `${a.name} (${shapeText(a.shape)}, ${a.dtype})`);
  if (summary.table) return `table with ${arrays.length} column${arrays.length === 1 ? '' : 's'}: ${arrays.join(', ')}`;
  if (summary.arrays.length === 1) {
    const a = summary.arrays[0];
    return `${a.shape.length === 2 ? 'matrix' : 'array'} ${shapeText(a.shape)}, ${a.dtype}`;
  }
  return `${arrays.length} arrays: ${arrays.join(', ')}`;
}

/** List items for the loaded files (name -> {file, summary, demo}); example files cannot be removed. */
export function fileItems(entries, onRemove) {
  return [...entries.values()].map(({ file, summary, demo }) => el('li', {},
    el('div', { class: 'file-head' },
      el('strong', { class: 'file-name' }, file.name),
      el('span', { class: 'tag' }, summary.format.toUpperCase()),
      demo ? el('span', { class: 'tag example' }, 'example') : null,
      el('span', { class: 'fine' }, sizeText(file.size)),
      demo ? null : el('button', { type: 'button', class: 'icon', 'aria-label': `Remove ${file.name}`, onclick: () => onRemove(file.name) }, '✕')),
    el('div', { class: 'fine file-contents' }, contents(summary))));
}

/** One readable sentence per file that could not be read (name -> the reader's message). */
export function fileErrorItems(errors) {
  const items = [...errors].map(([name, message]) => {
    let text = message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
    text = `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
    return el('p', { class: 'error' }, el('strong', {}, name), ' could not be read. ', text);
  });
  if (items.length) items.push(el('p', { class: 'fine' }, 'Check that each file is complete and in one of the formats listed above; the other files can be used as they are.'));
  return items;
}

// ---------------------------------------------------------------- whole view

let scatter = null;
let tableSort = { key: 'order', dir: 1 };

export function reset(run) {
  $('results-empty').textContent = 'Results of your files will appear here after you press Run (in “Your data”).';
  $('results-title').textContent = run.title;
  $('results-subtitle').textContent = run.subtitle;
  $('results-empty').hidden = true;
  $('results-body').hidden = false;
  for (const id of ['finding', 'headline-title', 'graph-card', 'euclid-card', 'layers-section', 'classes-section', 'scatter-section', 'export']) $(id).hidden = true;
  $('warnings').replaceChildren();
  $('params-line').textContent = '';
  $('path-info').textContent = '';
  tableSort = { key: 'order', dir: 1 };
  if (scatter) scatter.coords = null;
}

/** After a run that ended without any result (cancelled, or an error at once). */
export function nothing(run, message) {
  if (run.graph || run.euclidean || run.sweep.some((m) => m.layers)) return;
  $('results-empty').textContent = message;
  $('results-empty').hidden = false;
}

export function empty(message) {
  $('results-title').textContent = 'Results';
  $('results-subtitle').textContent = '';
  $('results-body').hidden = true;
  $('results-empty').hidden = false;
  if (message) $('results-empty').textContent = message;
}

/** Re-renders every part whose data has arrived (cheap; the scatter has its own call). */
export function update(run) {
  headline(run);
  classes(run);
  layers(run);
  warnings(run);
  $('export').hidden = !(run.graph || run.euclidean || run.sweep.some((m) => m.layers));
}

export function redraw(run) {
  if (!run) return;
  classesChart(run);
  layersChart(run);
  scatter?.render();
}

// ---------------------------------------------------------------- headline numbers

function headline(run) {
  const g = run.graph;
  $('headline-title').textContent = run.headlineTitle;
  $('headline-title').hidden = !(g || run.euclidean);
  if (g) {
    const k = g.parameters.options.k;
    const score = $('graph-score');
    score.textContent = fmt(g.score);
    score.dataset.value = String(g.score);
    score.dataset.k = String(k);
    $('graph-sem').replaceChildren(sem(g.sem), ' ', el('span', { class: 'fine' }, '(combined standard error, ', oursTag(), ')'));
    const classesScored = g.classes.length;
    $('graph-words').textContent = `Of the shortest paths between two items of the same class in the ${k}-nearest-neighbour graph, `
      + `${fmt(g.score)}% of the points passed on the way belong to that class too (average over ${classesScored} `
      + `class${classesScored === 1 ? '' : 'es'}; 100 means every class is a convex region of the graph).`;
    const b = g.baseline;
    $('graph-chance').replaceChildren(...(b
      ? [`Chance level with shuffled labels: ${fmt(b.mean)} ± ${fmt(b.sd)} (mean ± sd of ${b.permutations} shuffles; `
        + `exact expectation ${fmt(b.expected)}), so the score is ${fmt(b.lift)} points above chance (lift). `, oursTag()]
      : ['Chance level not computed (chance permutations set to 0).']));
    $('graph-details').textContent = `${int(g.components)} connected component${g.components === 1 ? '' : 's'}, `
      + `${int(g.edges)} edges; ${int(g.no_path)} pair${g.no_path === 1 ? '' : 's'} without a path (scored 0). `
      + `Mean over all scored paths pooled: ${fmt(g.pooled_mean)}.`;
    $('graph-neighbours').replaceChildren(...neighbourGraphWords(g));
    $('graph-card').hidden = false;
  }
  const e = run.euclidean;
  if (e) {
    const n = e.parameters.options.n_points;
    const score = $('euclid-score');
    score.textContent = fmt(e.score);
    score.dataset.value = String(e.score);
    $('euclid-sem').replaceChildren(sem(e.sem), ' ', el('span', { class: 'fine' }, '(combined standard error, ', oursTag(), ')'));
    const by = e.probe ? 'a linear probe fitted here' : `the model's own ${e.label_source}`;
    $('euclid-words').textContent = `On the straight line between two items of the same class, ${fmt(e.score)}% of the ${n} `
      + `evenly spaced points in between are classified as that class by ${by}.`;
    const accuracy = $('euclid-accuracy');
    accuracy.className = 'words';
    if (e.probe) {
      accuracy.textContent = `Probe accuracy on items it was not fitted on: ${pct(e.probe.held_out_accuracy)} `
        + `(${e.probe.scheme}). A score measured with a poor probe is not meaningful.`;
      if (e.probe.held_out_accuracy < 0.5) accuracy.className = 'words bad';
    } else {
      accuracy.textContent = `The head classifies ${pct(e.accuracy)} of these items correctly. Its outputs are read as the `
        + `classes ${e.head_classes.slice(0, 12).join(', ')}${e.head_classes.length > 12 ? ', …' : ''}, in that order.`;
    }
    $('euclid-details').textContent = `${int(e.rows_scored)} items scored.`;
    $('euclid-card').hidden = false;
  }
  const params = [];
  const go = g?.parameters.options;
  const eo = e?.parameters.options ?? run.sweep.find((m) => m.euclid.some(Boolean))?.euclid.find(Boolean)?.parameters.options;
  const lo = run.sweep.find((m) => m.layers)?.layers.parameters.graph;
  const graphOptions = go ?? lo;
  if (graphOptions) {
    params.push(`k = ${graphOptions.k} neighbours`, `${graphOptions.n_paths} pairs per class`, `seed ${graphOptions.seed}`,
      `${graphOptions.baseline} chance permutations`);
  }
  if (eo) params.push(`${eo.n_points} points per segment`);
  const perClass = (g ?? e)?.parameters.per_class;
  if (perClass) params.push(`at most ${perClass} items per class`);
  const line = $('params-line');
  line.textContent = params.length ? `Settings: ${params.join(' · ')}.` : '';
  if (graphOptions) line.dataset.k = String(graphOptions.k);
}

/** Which neighbour graph the score was computed on, and how far an approximate one can be trusted. */
function neighbourGraphWords(g) {
  const info = g.neighbour_graph;
  const workers = g.workers > 1 ? ` Computed by ${g.workers} workers in parallel.` : '';
  if (!info || info.kind === 'exact') {
    const why = info?.requested === 'auto' ? ` (chosen automatically: at most ${int(info.auto_approximate_above)} items)` : '';
    return [`Neighbour graph: exact${why}.${workers}`];
  }
  const r = info.recall;
  const recall = r?.recall == null ? 'unknown' : r.recall.toFixed(3);
  return [`Neighbour graph: approximate (NN-descent${info.requested === 'auto' ? `, chosen automatically above ${int(info.auto_approximate_above)} items` : ''}). `
    + `Measured recall@${g.parameters.options.k}: ${recall} — the share of the true nearest neighbours found, checked exactly on ${int(r?.sample_rows ?? 0)} random items. `
    + 'How far the score moves cannot be measured without the exact graph (in our benchmark of 20,000 items, '
    + 'recall 0.995 moved it by 0.05 points); choose the exact graph to remove the doubt. ', oursTag()];
}

// ---------------------------------------------------------------- warnings

function warnings(run) {
  const list = $('warnings');
  const items = [];
  const add = (what, result) => {
    for (const w of result?.warnings ?? []) items.push(`${what}: ${w.charAt(0).toUpperCase()}${w.slice(1)}.`);
  };
  add('Graph convexity', run.graph);
  add('Euclidean convexity', run.euclidean);
  for (const m of run.sweep) {
    add(`Layer sweep, ${m.name}`, m.layers);
    m.euclid.forEach((r, i) => add(`Layer sweep, ${m.name}, layer ${i + 1} (Euclidean)`, r));
  }
  if (run.labelNote) items.push(run.labelNote);
  list.replaceChildren(...[...new Set(items)].map((t) => el('li', {}, t)));
}

// ---------------------------------------------------------------- classes

function classRows(run) {
  const rows = new Map();
  const row = (label) => {
    if (!rows.has(label)) rows.set(label, { label, order: rows.size });
    return rows.get(label);
  };
  for (const c of run.graph?.classes ?? []) Object.assign(row(c.label), { n: c.n, g: c.score, gSem: c.sem, chance: c.baseline, gPairs: c.pairs });
  for (const c of run.euclidean?.classes ?? []) {
    const r = row(c.label);
    Object.assign(r, { n: r.n ?? c.n, eN: c.n, e: c.score, eSem: c.sem, ePairs: c.pairs });
  }
  return [...rows.values()];
}

const COLUMNS = [
  { key: 'label', title: 'Class', text: (r) => r.label },
  { key: 'n', title: 'Items', text: (r) => int(r.n), num: true },
  { key: 'g', title: 'Graph convexity', text: (r) => fmt(r.g), num: true, needs: 'graph' },
  { key: 'gSem', title: '± SEM', long: 'Graph convexity standard error', text: (r) => fmt(r.gSem), num: true, needs: 'graph' },
  { key: 'chance', title: 'Chance (expected)', ours: true, text: (r) => fmt(r.chance), num: true, needs: 'graph' },
  { key: 'eN', title: 'Items scored (Euclidean)', text: (r) => int(r.eN), num: true, needs: 'euclidean', only: (rows) => rows.some((r) => r.eN !== r.n) },
  { key: 'e', title: 'Euclidean convexity', text: (r) => fmt(r.e), num: true, needs: 'euclidean' },
  { key: 'eSem', title: '± SEM', long: 'Euclidean convexity standard error', text: (r) => fmt(r.eSem), num: true, needs: 'euclidean' },
];

function compareLabels(a, b) {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function classes(run) {
  if (!run.graph && !run.euclidean) return;
  $('classes-section').hidden = false;
  const parts = [];
  if (run.graph) parts.push(`graph convexity (k = ${run.graph.parameters.options.k})`);
  if (run.euclidean) parts.push(`Euclidean convexity (${run.euclidean.probe ? 'linear probe' : run.euclidean.label_source})`);
  $('classes-subtitle').textContent = `${run.classesTitle}: ${parts.join(' and ')}.`;
  classesChart(run);
  classesTable(run);
}

function classesChart(run) {
  if (!run.graph && !run.euclidean) return;
  const rows = classRows(run);
  const series = [];
  if (run.graph) series.push({ name: 'graph convexity', color: COLORS.graph, values: rows.map((r) => r.g), errors: rows.map((r) => r.gSem) });
  if (run.euclidean) series.push({ name: 'Euclidean convexity', color: COLORS.euclid, values: rows.map((r) => r.e), errors: rows.map((r) => r.eSem) });
  const markers = run.graph?.classes.some((c) => Number.isFinite(c.baseline))
    ? { name: `chance (${OURS})`, color: COLORS.chance, values: rows.map((r) => r.chance) } : null;
  barChart($('classes-chart'), { categories: rows.map((r) => r.label), series, markers, yLabel: 'convexity (%)' });
}

function classesTable(run) {
  const rows = classRows(run);
  const columns = COLUMNS.filter((c) => (!c.needs || run[c.needs]) && (!c.only || c.only(rows)));
  const { key, dir } = tableSort;
  rows.sort((a, b) => {
    if (key === 'label') return dir * compareLabels(a.label, b.label);
    const x = a[key] ?? -Infinity;
    const y = b[key] ?? -Infinity;
    return dir * (x - y) || a.order - b.order;
  });
  const table = $('classes-table');
  const caption = table.querySelector('caption');
  const head = el('thead', {}, el('tr', {}, columns.map((c) => {
    const sorted = key === c.key || (key === 'order' && c.key === 'label');
    const ariaSort = sorted ? (dir > 0 ? 'ascending' : 'descending') : 'none';
    return el('th', { scope: 'col', 'aria-sort': ariaSort, class: c.num ? 'num' : null },
      el('button', {
        type: 'button',
        class: 'sort',
        onclick: () => {
          tableSort = { key: c.key, dir: tableSort.key === c.key || (tableSort.key === 'order' && c.key === 'label') ? -dir : (c.num ? -1 : 1) };
          classesTable(run);
          table.querySelector(`th button[data-key="${c.key}"]`)?.focus();
        },
        dataset: { key: c.key },
        'aria-label': c.long ?? null,
      }, c.title, c.ours ? el('span', { class: 'ours-tag small' }, OURS) : null,
      el('span', { class: 'arrow', 'aria-hidden': 'true' }, sorted ? (dir > 0 ? ' ▲' : ' ▼') : '')));
  })));
  const body = el('tbody', {}, rows.map((r) => el('tr', {}, columns.map((c, i) =>
    el(i === 0 ? 'th' : 'td', { class: c.num ? 'num' : null, scope: i === 0 ? 'row' : null }, c.text(r))))));
  const skipped = [...(run.graph?.skipped ?? []), ...(run.euclidean?.skipped ?? [])];
  const foot = skipped.length
    ? el('tfoot', {}, el('tr', {}, el('td', { colspan: columns.length },
      `Skipped (fewer than 2 items, no pairs): ${[...new Set(skipped.map((s) => `${s.label} (${s.n})`))].join(', ')}`)))
    : null;
  table.replaceChildren(caption, head, body, ...(foot ? [foot] : []));
}

// ---------------------------------------------------------------- layers

function layersData(run) {
  const models = run.sweep.filter((m) => m.layers || m.euclid.some(Boolean));
  if (!models.length) return null;
  const count = Math.max(...run.sweep.map((m) => m.sources.length));
  const categories = run.layerNames ?? Array.from({ length: count }, (_, i) => `layer ${i + 1}`);
  return { models, categories };
}

function layersChart(run) {
  const data = layersData(run);
  if (!data) return;
  const series = [];
  run.sweep.forEach((m, i) => {
    const color = i === 0 ? COLORS.a : COLORS.b;
    const shape = i === 0 ? 'circle' : 'square';
    series.push({ name: `${m.name}: graph`, color, shape, values: data.categories.map((_, j) => m.layers?.layers[j]?.graph.score) });
    if (m.euclid.length && run.euclidOn) series.push({ name: `${m.name}: Euclidean`, color, shape, dash: [6, 4], values: data.categories.map((_, j) => m.euclid[j]?.score) });
  });
  lineChart($('layers-chart'), { categories: data.categories, series, yLabel: 'convexity (%)' });
}

function layers(run) {
  const data = layersData(run);
  if (!data) return;
  $('layers-section').hidden = false;
  layersChart(run);
  $('layers-chart').setAttribute('aria-label', `Line chart of convexity per layer for ${run.sweep.map((m) => m.name).join(' and ')}; the numbers are in the table below it.`);
  $('finding').textContent = finding(run, data.categories);
  $('finding').hidden = !$('finding').textContent;
  const table = $('layers-table');
  const caption = table.querySelector('caption');
  caption.textContent = 'Convexity per layer (%). Euclidean convexity with a cross-fitted linear probe; its held-out accuracy in brackets.';
  const head = el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Layer'), run.sweep.flatMap((m) => [
    el('th', { scope: 'col', class: 'num' }, `${m.name}: graph`),
    run.euclidOn ? el('th', { scope: 'col', class: 'num' }, `${m.name}: Euclidean`) : null,
  ])));
  const body = el('tbody', {}, data.categories.map((name, j) => el('tr', {}, el('th', { scope: 'row' }, name), run.sweep.flatMap((m) => {
    const g = m.layers?.layers[j]?.graph;
    const e = m.euclid[j];
    return [
      el('td', { class: 'num', title: m.sources[j]?.file ?? '' }, g ? `${fmt(g.score)} ${sem(g.sem)}` : ''),
      run.euclidOn ? el('td', { class: 'num' }, e ? `${fmt(e.score)} ${sem(e.sem)} (${pct(e.probe?.held_out_accuracy ?? e.accuracy)})` : '') : null,
    ];
  }))));
  table.replaceChildren(caption, head, body);
}

/** "layers 1–2" for ["layer 1", "layer 2"]; else the first and last names. */
function span(names) {
  if (names.length === 1) return names[0];
  const numbers = names.map((n) => /^layer (\d+)$/.exec(n)?.[1]);
  if (numbers.every(Boolean)) return `layers ${numbers[0]}–${numbers.at(-1)}`;
  return `${names[0]} to ${names.at(-1)}`;
}

/** One plain sentence on what the layer curves show, written from the numbers. */
export function finding(run, categories) {
  const [a, b] = run.sweep;
  const scores = (m) => categories.map((_, j) => m?.layers?.layers[j]?.graph.score);
  const sa = scores(a);
  const chance = a?.layers?.layers[0]?.graph.baseline?.expected;
  const chanceText = Number.isFinite(chance) ? `; chance would be about ${fmt(chance, 0)}%` : '';
  const range = (v) => {
    const f = v.filter(Number.isFinite);
    return f.length ? `${fmt(Math.min(...f), 0)}–${fmt(Math.max(...f), 0)}%` : '';
  };
  if (!b?.layers || !a?.layers) {
    const m = a?.layers ? a : b;
    return m?.layers ? `Graph convexity of ${m.name} ranges over ${range(scores(m))} across its layers${chanceText}.` : '';
  }
  const sb = scores(b);
  const n = Math.min(sa.length, sb.length);
  const gain = Array.from({ length: n }, (_, j) => sb[j] - sa[j]).filter(Number.isFinite);
  if (gain.length < n || n === 0) return 'Computing the layers…';
  const half = Math.floor(n / 2);
  const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
  const first = n > 1 ? mean(gain.slice(0, half || 1)) : gain[0];
  const last = n > 1 ? mean(gain.slice(half)) : gain[0];
  const signed = (v) => `${v >= 0 ? '+' : '−'}${fmt(Math.abs(v))}`;
  const already = Math.min(...sa) >= 50 ? `Already in the ${a.name} model the classes are largely convex` : `In the ${a.name} model the classes are only partly convex`;
  const where = n < 2 ? '' : last > first
    ? `, most in the last layers (${signed(first)} points on average in ${span(categories.slice(0, half))}, ${signed(last)} in ${span(categories.slice(half, n))})`
    : `, though not most in the last layers (${signed(first)} points on average in the first half, ${signed(last)} in the second)`;
  const change = gain.every((d) => d > 0) ? `${b.name} raises convexity in every layer${where}`
    : gain.every((d) => d <= 0) ? `${b.name} does not raise it in any layer`
      : `${b.name} raises it in ${gain.filter((d) => d > 0).length} of ${n} layers${where}`;
  return `${already} (graph convexity ${range(sa)}${chanceText}); ${change}.`;
}

// ---------------------------------------------------------------- scatter

export function showScatter(run, onPick) {
  if (!run.coords) return;
  const section = $('scatter-section');
  section.hidden = false;
  if (!scatter) {
    scatter = new Scatter($('scatter'), $('scatter-overlay'));
    $('scatter-overlay').addEventListener('click', (event) => {
      const box = event.currentTarget.getBoundingClientRect();
      const row = scatter.pick(event.clientX - box.left, event.clientY - box.top);
      if (row >= 0) onPick(row);
    });
  }
  const classes = run.classNames ?? [];
  const colors = palette(classes.length);
  scatter.setData(run.coords, run.groups, colors);
  const n = run.coords.length / 2;
  const emb = run.embeddingsShape;
  $('scatter-subtitle').textContent = `${run.scatterTitle}: the first two principal components of ${int(n)} items`
    + `${emb ? ` (of ${emb[1]} dimensions)` : ''}. A flat picture only: the neighbour graph and the paths use all dimensions, so a path may look roundabout here.`;
  $('scatter-overlay').setAttribute('aria-label', `Scatter plot of ${int(n)} items in ${classes.length || 'unknown'} classes, coloured by class.`);
  const legend = $('legend');
  legend.replaceChildren(...(run.groups ? classes.map((c, i) => {
    const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = colors[i];
    return el('li', {}, swatch, c);
  }) : [el('li', {}, 'One colour: the labels could not be matched to the rows here.')]));
}

export function markScatter(selected, path) {
  scatter?.mark(selected, path);
}

export function setPathInfo(text) {
  $('path-info').textContent = text;
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

export function exportJson(run) {
  const out = {
    note: 'Results computed in the browser by convexlens; each analysis is one result envelope.',
    graph_convexity: run.graph,
    euclidean_convexity: run.euclidean,
    layer_sweep: run.sweep.filter((m) => m.layers).map((m) => ({ model: m.name, graph: m.layers, euclidean: m.euclid })),
  };
  download(`${run.fileStem}.json`, 'application/json', `${JSON.stringify(out, null, 2)}\n`);
}

export function exportCsv(run) {
  const quote = (v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const num = (v) => (v == null || !Number.isFinite(v) ? '' : String(v));
  const lines = ['label,n,graph_pairs,graph_convexity,graph_sem,graph_chance_expected,euclidean_n,euclidean_pairs,euclidean_convexity,euclidean_sem'];
  for (const r of classRows(run)) {
    lines.push([quote(r.label), num(r.n), num(r.gPairs), num(r.g), num(r.gSem), num(r.chance), num(r.eN), num(r.ePairs), num(r.e), num(r.eSem)].join(','));
  }
  download(`${run.fileStem}-classes.csv`, 'text/csv', `${lines.join('\n')}\n`);
}
