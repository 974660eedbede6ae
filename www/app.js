// The page: two views (tabs), convexity and memorization. This module runs the convexity view
// (files in, pickers and settings, runs in the worker, results out) and switches between the
// views; memorization.js runs the other. The example (digits) is loaded like user files:
// fetched from this site, wrapped as File objects and sent to the worker. Nothing the person
// drops ever leaves the tab.
import { Analyst, Cancelled } from './client.js';
import { readLabels } from './labels.js';
import { RunBar } from './runbar.js';
import * as memorization from './memorization.js';
import * as render from './render.js';
import * as S from './sources.js';
import { key, LABEL_NAMES, unkey } from './sources.js';

const $ = (id) => document.getElementById(id);
const { el, fmt } = render;
const analyst = new Analyst();
const DEMO = 'digits';
const embed = new URLSearchParams(location.search).get('embed') === '1';

const state = {
  mode: 'demo', // 'demo' shows the example; 'user' once the person adds files; 'none' for an empty page
  entries: new Map(), // file name -> {file, summary, demo}
  errors: new Map(), // file name -> message
  demo: null, // {manifest, files}
  touched: new Set(), // pickers the person has set: not guessed again
  layers: [[], []], // model A and B: ordered Sources
  job: null, // the run in progress: {aborted}
  run: null, // what the results show
  selected: [], // rows picked on the scatter
};

// ------------------------------------------------------------------ settings and the URL hash

const SETTINGS = [
  { key: 'k', id: 'k', min: 1, def: 10, what: 'Neighbours per item (k)' },
  { key: 'paths', id: 'paths', min: 1, def: 5000, what: 'Pairs per class' },
  { key: 'seed', id: 'seed', min: 0, def: 0, what: 'Random seed' },
  { key: 'baseline', id: 'baseline', min: 0, def: 5, what: 'Chance permutations' },
  { key: 'points', id: 'points', min: 1, def: 10, what: 'Points per segment' },
  { key: 'per', id: 'per-class', min: 2, def: null, what: 'Items per class' },
];

function readSettings() {
  const values = {};
  const problems = [];
  for (const s of SETTINGS) {
    const text = $(s.id).value.trim();
    if (text === '' && s.def === null) { values[s.key] = null; continue; }
    const v = Number(text);
    if (text === '' || !Number.isInteger(v) || v < s.min || v > Number.MAX_SAFE_INTEGER) {
      problems.push(`${s.what} must be a whole number of at least ${s.min}.`);
      $(s.id).setAttribute('aria-invalid', 'true');
    } else {
      values[s.key] = v;
      $(s.id).removeAttribute('aria-invalid');
    }
  }
  $('params-error').textContent = problems.join(' ');
  return problems.length ? null : values;
}

function labelSource() {
  return $('source-head').checked ? 'head' : 'probe';
}

function writeHash() {
  if (view !== 'convexity') return;
  const p = new URLSearchParams();
  if (state.mode === 'demo') p.set('demo', DEMO);
  for (const s of SETTINGS) {
    const v = $(s.id).value.trim();
    if (v !== '' || s.def !== null) p.set(s.key, v);
  }
  p.set('source', labelSource());
  if (!$('euclid-on').checked) p.set('euclid', '0');
  if ($('graph-kind').value !== 'auto') p.set('graph', $('graph-kind').value);
  const hash = `#${p.toString()}`;
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

/** Applies the hash to the controls; returns the demo it names ('digits' by default, or 'none'). */
function applyHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const s of SETTINGS) $(s.id).value = p.has(s.key) ? p.get(s.key) : (s.def ?? '');
  if (p.get('source') === 'probe' || p.get('source') === 'head') $(`source-${p.get('source')}`).checked = true;
  $('euclid-on').checked = p.get('euclid') !== '0';
  $('graph-kind').value = ['exact', 'approximate'].includes(p.get('graph')) ? p.get('graph') : 'auto';
  showEuclidOptions();
  return p.get('demo') === 'none' ? 'none' : DEMO;
}

// ------------------------------------------------------------------ sources and pickers

const summaries = () => [...state.entries.values()].map((e) => e.summary);
const matrices = () => S.matrices(summaries());
const columns = (file) => S.columns(summaries(), file);
const vectors = () => S.vectors(summaries());
const guessLabels = () => S.guessLabels(summaries());
const guessHead = (cols) => S.guessHead(summaries(), cols);
const guessLayers = () => S.guessLayers(summaries());
const guessEmbeddings = (rows) => S.guessEmbeddings(summaries(), rows, (state.layers[1].length ? state.layers[1] : state.layers[0]).at(-1));

function fill(select, options, chosen, blank) {
  const keep = chosen ?? select.value;
  const items = blank ? [el('option', { value: '' }, blank)] : [];
  for (const o of options) items.push(el('option', { value: o.value }, o.text));
  select.replaceChildren(...items);
  if (options.some((o) => o.value === keep) || (blank && keep === '')) select.value = keep;
  return select.value;
}

function refreshPickers() {
  const mats = matrices().map((m) => ({ value: key(m.source), text: m.text }));
  const files = [...state.entries.keys()];
  const labelFiles = files.filter((f) => columns(f).length).map((f) => ({ value: f, text: f }));

  // Labels first: their row count helps to guess the embeddings.
  let labels = state.touched.has('labels') ? currentLabels() : guessLabels();
  if (labels && !state.entries.has(labels.file)) labels = guessLabels();
  fill($('labels-file'), labelFiles, labels?.file ?? '');
  fillColumns($('labels-column'), $('labels-file').value, labels);
  const labelRows = columns($('labels-file').value).find((c) => key(c.source) === $('labels-column').value)?.rows;

  let emb = state.touched.has('embeddings') ? $('embeddings').value : key(guessEmbeddings(labelRows));
  if (!mats.some((m) => m.value === emb)) emb = key(guessEmbeddings(labelRows));
  fill($('embeddings'), mats, emb);

  const splitFiles = files.filter((f) => columns(f).some((c) => !c.dtype.startsWith('f'))).map((f) => ({ value: f, text: f }));
  fill($('split-file'), splitFiles, state.touched.has('split') ? $('split-file').value : '', 'no split');
  fillColumns($('split-column'), $('split-file').value, state.touched.has('split') ? currentSplit() : null);

  const vecs = vectors().map((v) => ({ value: key(v.source), text: v.text }));
  const cols = matrices().find((m) => key(m.source) === $('embeddings').value)?.cols;
  const head = state.touched.has('head') ? null : guessHead(cols);
  fill($('head-w'), mats, head ? key(head[0]) : undefined, 'choose…');
  fill($('head-b'), vecs, head ? key(head[1]) : undefined, 'choose…');
  if (head && state.mode === 'user' && !state.touched.has('source')) $('source-head').checked = true;
  if (!head && !state.touched.has('head') && state.mode === 'user' && !state.touched.has('source')) $('source-probe').checked = true;

  for (const id of ['model-a', 'model-b']) fill($(`${id}-add`), mats, undefined);
  showEuclidOptions();
  renderLayerLists();
  checkInputs();
}

function fillColumns(select, file, chosen) {
  const options = columns(file).map((c) => ({ value: key(c.source), text: c.text }));
  let value = chosen && chosen.file === file ? key(chosen) : select.value;
  if (!options.some((o) => o.value === value)) {
    const named = columns(file).find((c) => LABEL_NAMES.includes(c.name.toLowerCase()));
    value = named ? key(named.source) : options[0]?.value;
  }
  fill(select, options, value);
  select.disabled = options.length <= 1;
}

const currentLabels = () => unkey($('labels-column').value);
const currentSplit = () => ($('split-file').value ? unkey($('split-column').value) : null);

function checkInputs() {
  const m = matrices().find((x) => key(x.source) === $('embeddings').value);
  const labels = currentLabels();
  const l = labels && columns(labels.file).find((c) => key(c.source) === key(labels));
  const line = $('inputs-check');
  line.className = 'fine check';
  if (!m || !l) {
    line.textContent = state.entries.size ? 'Choose the embeddings and the labels.' : 'Add files to choose what to analyse.';
  } else if (m.rows !== l.rows) {
    line.textContent = `The embeddings have ${m.rows} rows but the labels ${l.rows}: they must describe the same items, in the same order.`;
    line.className = 'fine check bad';
  } else {
    line.textContent = `${m.rows} items of ${m.cols} dimensions, one label each.`;
  }
  $('run').disabled = Boolean(state.job) || !m || !l;
}

function showEuclidOptions() {
  const on = $('euclid-on').checked;
  $('euclid-options').hidden = !on;
  $('probe-options').hidden = labelSource() !== 'probe';
  $('head-options').hidden = labelSource() !== 'head';
}

// ------------------------------------------------------------------ layer lists

function renderLayerLists() {
  for (const [m, id] of [[0, 'model-a'], [1, 'model-b']]) {
    const list = $(`${id}-layers`);
    const name = () => $(`${id}-name`).value || (m ? 'model B' : 'model A');
    const items = state.layers[m].map((source, i) => {
      const move = (d) => () => {
        const l = state.layers[m];
        [l[i], l[i + d]] = [l[i + d], l[i]];
        state.touched.add('layers');
        renderLayerLists();
        list.querySelectorAll('li')[i + d]?.querySelector(d < 0 ? '.up' : '.down')?.focus();
      };
      const label = `${source.file}${source.field ? ` → ${source.field}` : ''}`;
      return el('li', {},
        el('span', { class: 'layer-name' }, label),
        el('span', { class: 'layer-buttons' },
          el('button', { type: 'button', class: 'icon up', 'aria-label': `Move ${label} up in ${name()}`, disabled: i === 0, onclick: move(-1) }, '↑'),
          el('button', { type: 'button', class: 'icon down', 'aria-label': `Move ${label} down in ${name()}`, disabled: i === state.layers[m].length - 1, onclick: move(1) }, '↓'),
          el('button', { type: 'button', class: 'icon', 'aria-label': `Remove ${label} from ${name()}`, onclick: () => {
            state.layers[m].splice(i, 1);
            state.touched.add('layers');
            renderLayerLists();
            $(`${id}-add`).focus();
          } }, '✕')));
    });
    list.replaceChildren(...(items.length ? items : [el('li', { class: 'none' }, 'no layers')]));
  }
}

function addLayer(m, id) {
  const source = unkey($(`${id}-add`).value);
  if (!source) return;
  state.layers[m].push(source);
  state.touched.add('layers');
  renderLayerLists();
}

// ------------------------------------------------------------------ files

function renderFiles() {
  $('files').replaceChildren(...render.fileItems(state.entries, removeFile));
  $('files-box').hidden = state.entries.size === 0;
  $('demo-again').hidden = state.mode === 'demo' || !state.demo;
  $('file-errors').replaceChildren(...render.fileErrorItems(state.errors));
}

function removeFile(name) {
  state.entries.delete(name);
  analyst.forget(name);
  for (const l of state.layers) for (let i = l.length - 1; i >= 0; i--) if (l[i].file === name) l.splice(i, 1);
  renderFiles();
  refreshPickers();
  $('dropzone').focus();
}

/** Adds files the person chose. The first ones replace the example. */
async function addUserFiles(list) {
  const files = [...list];
  if (!files.length) return;
  if (state.mode !== 'user') {
    // Let the step that runs now finish (a second or so); the files wait behind it.
    if (state.job) {
      state.job.aborted = true;
      finishProgress('stopped', 'Stopped the example to read your files.');
    }
    state.mode = 'user';
    for (const [name, entry] of state.entries) if (entry.demo) analyst.forget(name);
    state.entries.clear();
    state.touched.clear();
    state.layers = [[], []];
    state.run = null;
    render.empty('Results of your files will appear here after you press Run (in “Your data”).');
    writeHash();
  }
  state.errors.clear();
  setStatus(`Reading ${files.length} file${files.length === 1 ? '' : 's'}…`);
  let reply;
  try {
    reply = await analyst.addFiles(files);
  } catch (error) {
    if (!(error instanceof Cancelled)) showRunError(`Could not read the files: ${error.message}`);
    return;
  }
  for (const s of reply.summaries) {
    const file = files.find((f) => f.name === s.file);
    state.entries.delete(s.file); // re-adding moves it to the end
    state.entries.set(s.file, { file, summary: s, demo: false });
  }
  for (const e of reply.errors) {
    state.errors.set(e.file, e.message);
    if (state.entries.get(e.file)?.demo === false) state.entries.delete(e.file);
  }
  const guessed = guessLayers();
  if (!state.touched.has('layers') && guessed.length) {
    state.layers = [guessed[0]?.layers ?? [], guessed[1]?.layers ?? []];
    $('model-a-name').value = guessed[0]?.name ?? 'model A';
    $('model-b-name').value = guessed[1]?.name ?? 'model B';
  }
  renderFiles();
  refreshPickers();
  const good = reply.summaries.length;
  const bad = reply.errors.length;
  const plural = (n) => `${n} file${n === 1 ? '' : 's'}`;
  setStatus(!good ? `${bad === 1 ? 'The file could not be read' : `None of the ${bad} files could be read`}; the reasons are under the drop zone.`
    : `${plural(good)} read${bad ? `, ${plural(bad)} could not be (reasons under the drop zone)` : ''}. Check the choices and press Run.`);
}

// ------------------------------------------------------------------ the example

async function loadDemo() {
  setStatus('Loading the digits example…');
  try {
    const base = new URL('./demo/', import.meta.url);
    const manifest = await (await fetch(new URL('manifest.json', base))).json();
    const names = [manifest.labels, ...manifest.layers.flatMap((l) => [l.pretrained, l.finetuned]), manifest.head.w, manifest.head.b];
    const files = await Promise.all(names.map(async (name) => {
      const response = await fetch(new URL(name, base));
      if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
      return new File([await response.blob()], name);
    }));
    state.demo = { manifest, files };
  } catch (error) {
    if (state.mode === 'demo') {
      showRunError(`The example could not be loaded (${error.message}). You can still analyse your own files.`);
      state.mode = 'none';
      render.empty('Add your files in “Your data” and press Run to see results here.');
      setStatus('');
    }
    return;
  }
  if (state.mode === 'demo' && view === 'convexity') await showDemo();
  else renderFiles();
}

async function showDemo() {
  const { manifest, files } = state.demo;
  state.mode = 'demo';
  state.entries.clear();
  state.errors.clear();
  state.touched = new Set(['labels', 'embeddings', 'head', 'layers', 'split']);
  const reply = await analyst.addFiles(files);
  for (const s of reply.summaries) state.entries.set(s.file, { file: files.find((f) => f.name === s.file), summary: s, demo: true });
  for (const e of reply.errors) state.errors.set(e.file, e.message);
  const src = (file, field = null) => ({ file, field });
  const last = manifest.layers.find((l) => l.name === manifest.head.layer) ?? manifest.layers.at(-1);
  state.layers = [manifest.layers.map((l) => src(l.pretrained)), manifest.layers.map((l) => src(l.finetuned))];
  $('model-a-name').value = 'pretrained';
  $('model-b-name').value = 'fine-tuned';
  renderFiles();
  refreshPickers();
  $('embeddings').value = key(src(last.finetuned));
  $('labels-file').value = manifest.labels;
  fillColumns($('labels-column'), manifest.labels, src(manifest.labels, manifest.label_column));
  $('head-w').value = key(src(manifest.head.w));
  $('head-b').value = key(src(manifest.head.b));
  $('split-file').value = '';
  fillColumns($('split-column'), '', null);
  // The example has the model's own head; a link may ask for a probe instead.
  const asked = new URLSearchParams(location.hash.slice(1)).get('source');
  $(asked === 'probe' ? 'source-probe' : 'source-head').checked = true;
  showEuclidOptions();
  checkInputs();
  writeHash();
  await runAnalysis();
}

// ------------------------------------------------------------------ running

function plan(settings) {
  const embeddings = unkey($('embeddings').value);
  const labels = currentLabels();
  if (!embeddings || !labels) return { error: 'Choose the embeddings and the labels first.' };
  const graph = { k: settings.k, n_paths: settings.paths, seed: settings.seed, baseline: settings.baseline };
  const options = { n_points: settings.points, n_paths: settings.paths, seed: settings.seed, folds: 5 };
  const split = labelSource() === 'probe' ? currentSplit() : null;
  let euclid = null;
  if ($('euclid-on').checked) {
    let head = null;
    if (labelSource() === 'head') {
      const w = unkey($('head-w').value);
      const b = unkey($('head-b').value);
      if (!w || !b) return { error: 'Choose the head’s weights W and bias b, or use a linear probe fitted here.' };
      head = { layers: [[w, b]], activation: 'relu', classes: null };
    }
    euclid = { head, split, options };
  }
  const names = [$('model-a-name').value.trim() || 'model A', $('model-b-name').value.trim() || 'model B'];
  const models = state.layers.map((sources, i) => ({ name: names[i], sources: [...sources] })).filter((m) => m.sources.length);
  const demo = state.mode === 'demo';
  const manifest = state.demo?.manifest;
  const describe = (s) => `${s.file}${s.field ? ` (column ${s.field})` : ''}`;
  const headLayer = manifest?.head.layer ?? '';
  return {
    demo,
    embeddings,
    labels,
    per_class: settings.per,
    graph,
    graphKind: $('graph-kind').value,
    euclid,
    models,
    title: demo ? 'Example: handwritten digits' : 'Your results',
    subtitle: demo ? `${manifest.rows} small images of handwritten digits, passed through a four-layer network after pretraining `
      + '(without digit labels) and again after fine-tuning it to recognise the digits.'
      : `Embeddings ${describe(embeddings)}, labels ${describe(labels)}.`,
    headlineTitle: demo ? `Fine-tuned model, ${headLayer} (the layer that feeds its classifier)` : 'Overall',
    classesTitle: demo ? `Fine-tuned model, ${headLayer} (the layer that feeds its classifier)` : `Each class of ${describe(embeddings)}`,
    scatterTitle: demo ? `Fine-tuned model, ${headLayer}` : describe(embeddings),
    layerNames: demo ? manifest.layers.map((l) => l.name) : null,
    fileStem: demo ? 'convexlens-digits' : `convexlens-${embeddings.file.replace(/\.[^.]+$/, '')}`,
  };
}

// Rough relative cost of each step, for one progress bar over the whole run.
const STAGE_ORDER = { 'nearest neighbours': 0, 'shortest paths': 1, 'fitting probes': 0 };

function stepFraction(stage, fraction, perUnit) {
  let unit = 0;
  let units = 1;
  let name = stage;
  const m = /^layer (\d+)\/(\d+): (.*)$/.exec(stage);
  if (m) [unit, units, name] = [Number(m[1]) - 1, Number(m[2]), m[3]];
  const order = Math.min(STAGE_ORDER[name] ?? 0, perUnit - 1);
  return (unit + (order + Math.min(1, Math.max(0, fraction))) / perUnit) / units;
}

async function runAnalysis() {
  const settings = readSettings();
  if (!settings) return showRunError('Fix the parameters first (see “Parameters”).');
  const p = plan(settings);
  if (p.error) return showRunError(p.error);
  writeHash();
  clearRunError();
  const run = {
    ...p,
    euclidOn: Boolean(p.euclid),
    graph: null,
    euclidean: null,
    coords: null,
    groups: null,
    sweep: p.models.map((m) => ({ ...m, layers: null, euclid: [] })),
  };
  const job = { aborted: false, started: performance.now() };
  state.job = job;
  state.run = run;
  state.selected = [];
  render.reset(run);
  $('path-a').value = '';
  $('path-b').value = '';
  const labelsEntry = state.entries.get(p.labels.file);
  const labelsPromise = labelsEntry ? readLabels(labelsEntry.file, labelsEntry.summary, p.labels.field) : Promise.resolve(null);

  const { per_class } = p;
  const steps = [];
  steps.push({ label: 'Graph convexity', weight: 2, per: 2, go: async (on) => { run.graph = await analyst.run('graph', { embeddings: p.embeddings, labels: p.labels, options: p.graph, per_class, graph: p.graphKind }, on); } });
  if (p.euclid) {
    steps.push({ label: 'Euclidean convexity', weight: p.euclid.head ? 0.3 : 3, per: 1, go: async (on) => {
      run.euclidean = await analyst.run('euclidean', { embeddings: p.embeddings, labels: p.labels, ...p.euclid, per_class }, on);
    } });
  }
  steps.push({ label: 'Projection for the scatter plot', weight: 0.3, per: 1, go: async () => {
    const [coords, labels] = await Promise.all([analyst.projection(p.embeddings), labelsPromise]);
    run.coords = coords;
    colourRows(run, labels);
  } });
  // The layer sweep: graph convexity of every layer first (one request per model), then the
  // Euclidean convexity of each layer with a probe (one request each, as the `layers`
  // analysis would compute it), so the chart fills in step by step.
  for (const m of run.sweep) {
    steps.push({ label: `${m.name}, layers`, weight: 2 * m.sources.length, per: 2, go: async (on) => {
      m.layers = await analyst.run('layers', { layers: m.sources, labels: p.labels, graph: p.graph, euclidean: null, per_class }, on);
    } });
  }
  if (p.euclid) {
    for (const m of run.sweep) {
      m.sources.forEach((source, j) => steps.push({ label: `${m.name}, layer ${j + 1}, Euclidean convexity (probe)`, weight: 3, per: 1, go: async (on) => {
        m.euclid[j] = await analyst.run('euclidean', { embeddings: source, labels: p.labels, head: null, split: p.euclid.split, options: p.euclid.options, per_class }, on);
      } }));
    }
  }

  const total = steps.reduce((s, x) => s + x.weight, 0);
  let done = 0;
  let shown = 0;
  startProgress();
  try {
    for (const step of steps) {
      if (job.aborted) break;
      const report = (stage, fraction) => {
        if (job !== state.job) return;
        shown = Math.max(shown, (done + step.weight * stepFraction(stage, fraction, step.per)) / total);
        showProgress(`${step.label}: ${stage}`, shown);
      };
      report('starting', 0);
      await step.go(report);
      done += step.weight;
      if (job !== state.job) return;
      render.update(run);
      if (run.coords && step.label.startsWith('Projection')) render.showScatter(run, pickRow);
    }
    if (job !== state.job) return;
    const seconds = ((performance.now() - job.started) / 1000).toFixed(1);
    finishProgress(job.aborted ? 'stopped' : 'done', job.aborted ? 'Stopped.' : `Computed in this tab in ${seconds} s.`);
  } catch (error) {
    if (error instanceof Cancelled || job !== state.job) return;
    finishProgress('error', 'The analysis stopped with an error.');
    showRunError(`The analysis stopped: ${error.message}. Change the choices in “Your data” and press Run again.`);
    render.update(run);
    render.nothing(run, 'No results: see the message above.');
  }
}

/** Colours rows by class when the labels read on the page match the result's class counts. */
function colourRows(run, labels) {
  const result = run.graph ?? run.euclidean;
  const classes = [...(result?.classes ?? []), ...(result?.skipped ?? [])];
  run.classNames = classes.map((c) => c.label);
  run.embeddingsShape = result?.inputs.find((i) => i.role === 'embeddings')?.shape;
  if (!labels || labels.length !== run.coords.length / 2) {
    run.groups = null;
    run.labels = null;
    return;
  }
  const index = new Map(run.classNames.map((c, i) => [c, i]));
  const counts = new Map();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const subsampled = Boolean(result?.subsample);
  const agrees = [...counts].every(([l, n]) => index.has(l) && (subsampled || classes[index.get(l)].n === n));
  run.groups = agrees ? Uint32Array.from(labels, (l) => index.get(l)) : null;
  run.labels = agrees ? labels : null;
}

function pickRow(row) {
  const run = state.run;
  const labelOf = (r) => (run.labels ? run.labels[r] : null);
  const sel = state.selected.length === 1 ? state.selected : [];
  if (sel.length === 1 && sel[0] === row) return;
  if (sel.length === 1 && run.labels && labelOf(sel[0]) !== labelOf(row)) {
    state.selected = [row];
    render.markScatter([row], []);
    render.setPathInfo(`Row ${row} is class ${labelOf(row)}, not ${labelOf(sel[0])}: paths are scored between two items of the same class. `
      + `Starting again from row ${row}; now click another point of class ${labelOf(row)}.`);
    $('path-a').value = row;
    $('path-b').value = '';
    return;
  }
  if (sel.length === 0) {
    state.selected = [row];
    render.markScatter([row], []);
    $('path-a').value = row;
    $('path-b').value = '';
    render.setPathInfo(`Row ${row}${run.labels ? ` (class ${labelOf(row)})` : ''} selected. Click another point${run.labels ? ` of class ${labelOf(row)}` : ''}.`);
    return;
  }
  showPath(sel[0], row);
}

async function showPath(a, b) {
  const run = state.run;
  if (!run?.coords) return;
  const n = run.coords.length / 2;
  if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < n && b < n) || a === b) {
    render.setPathInfo(`Give two different row numbers between 0 and ${n - 1}.`);
    return;
  }
  state.selected = [a, b];
  $('path-a').value = a;
  $('path-b').value = b;
  render.markScatter([a, b], []);
  const k = run.graph?.parameters.options.k ?? Number($('k').value);
  const whole = run.graph?.subsample ? ` in the graph of all ${n} rows (the score used a subsample, so this graph is built now and can take a while)` : '';
  render.setPathInfo(`Finding the path${whole}${state.job ? ', after the step that runs now' : ''}…`);
  let path;
  try {
    path = await analyst.path(run.embeddings, k, a, b);
  } catch (error) {
    if (!(error instanceof Cancelled)) render.setPathInfo(`No path could be drawn: ${error.message}`);
    return;
  }
  if (state.run !== run) return;
  render.markScatter([a, b], path.rows);
  const label = run.labels?.[a];
  const same = run.labels ? run.labels[a] === run.labels[b] : null;
  if (!path.rows.length) {
    render.setPathInfo(`No path between rows ${a} and ${b}: they lie in different parts of the ${k}-nearest-neighbour graph. Such a pair scores 0.`);
    return;
  }
  const interior = path.rows.slice(1, -1);
  const length = `Path length ${fmt(path.length, 2)} (the sum of the Euclidean distances along its ${path.rows.length - 1} edges).`;
  if (!run.labels) {
    render.setPathInfo(`Shortest path from row ${a} to row ${b}: ${path.rows.length} points, ${interior.length} in between. ${length}`);
    return;
  }
  const inClass = interior.filter((r) => run.labels[r] === label).length;
  const classNote = same ? '' : ` (The two rows are of different classes, ${run.labels[a]} and ${run.labels[b]}; graph convexity only scores same-class pairs.)`;
  const share = interior.length
    ? `${interior.length} point${interior.length === 1 ? '' : 's'} in between, ${inClass} of them (${fmt((100 * inClass) / interior.length, 0)}%) in class ${label}`
    : 'the two points are direct neighbours, which counts as 100%';
  const note = run.graph?.subsample ? ' (This path is in the graph of all rows; the score used a subsample of them.)' : '';
  render.setPathInfo(`Shortest path from row ${a} to row ${b}${same ? ` (class ${label})` : ''}: ${share}. ${length}${classNote} `
    + `The graph convexity of a class is this share averaged over many such pairs.${note}`);
}

// ------------------------------------------------------------------ progress, status, errors

const bar = new RunBar('', document.body);
const setStatus = (text) => bar.status(text);
const showRunError = (message) => bar.error(message);
const clearRunError = () => bar.clearError();

function startProgress() {
  bar.start(state.mode === 'demo' ? 'Computing the example…' : 'Computing…');
  checkInputs();
}

/** `stage` is "step: detail"; the step is announced. */
const showProgress = (stage, fraction) => bar.progress(stage, fraction, stage.split(':')[0]);

function finishProgress(how, message) {
  state.job = null;
  bar.finish(how, message);
  checkInputs();
}

function cancel() {
  if (!state.job) return;
  state.job.aborted = true;
  analyst.cancel();
  state.job = null;
  bar.cancelled();
  checkInputs();
  if (state.run) render.nothing(state.run, 'No results: the run was cancelled. Press Run to start again.');
  $('run').focus();
}

// ------------------------------------------------------------------ wiring

function wire() {
  const input = $('file-input');
  $('dropzone').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    addUserFiles(input.files);
    input.value = '';
  });
  // Files dropped anywhere on the page are taken by the view on show; the browser must not
  // open them instead.
  const zone = () => $(view === 'memorization' ? 'mem-dropzone' : 'dropzone');
  window.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone().classList.add('over');
  });
  window.addEventListener('dragleave', (event) => {
    if (!event.relatedTarget) zone().classList.remove('over');
  });
  window.addEventListener('drop', (event) => {
    event.preventDefault();
    zone().classList.remove('over');
    if (!event.dataTransfer?.files.length) return;
    if (view === 'memorization') memorization.addUserFiles(event.dataTransfer.files);
    else addUserFiles(event.dataTransfer.files);
  });
  $('demo-again').addEventListener('click', () => {
    if (state.job) cancel();
    showDemo();
  });

  const touch = (name, after) => () => {
    state.touched.add(name);
    after?.();
    refreshPickers();
  };
  $('embeddings').addEventListener('change', touch('embeddings'));
  $('labels-file').addEventListener('change', () => {
    state.touched.add('labels');
    fillColumns($('labels-column'), $('labels-file').value, null);
    refreshPickers();
  });
  $('labels-column').addEventListener('change', touch('labels'));
  $('split-file').addEventListener('change', () => {
    state.touched.add('split');
    fillColumns($('split-column'), $('split-file').value, null);
    refreshPickers();
  });
  $('split-column').addEventListener('change', touch('split'));
  $('head-w').addEventListener('change', touch('head'));
  $('head-b').addEventListener('change', touch('head'));
  for (const id of ['source-probe', 'source-head', 'euclid-on']) {
    $(id).addEventListener('change', () => {
      state.touched.add('source');
      showEuclidOptions();
      writeHash();
    });
  }
  $('graph-kind').addEventListener('change', writeHash);
  $('model-a-add-btn').addEventListener('click', () => addLayer(0, 'model-a'));
  $('model-b-add-btn').addEventListener('click', () => addLayer(1, 'model-b'));
  $('model-a-name').addEventListener('change', renderLayerLists);
  $('model-b-name').addEventListener('change', renderLayerLists);
  for (const s of SETTINGS) {
    $(s.id).addEventListener('input', () => {
      if (readSettings()) writeHash();
    });
  }
  $('run').addEventListener('click', () => {
    if (!state.job) runAnalysis();
  });
  $('cancel').addEventListener('click', cancel);
  $('path-go').addEventListener('click', () => showPath(Number($('path-a').value), Number($('path-b').value)));
  $('export-json').addEventListener('click', () => state.run && render.exportJson(state.run));
  $('export-csv').addEventListener('click', () => state.run && render.exportCsv(state.run));
  window.addEventListener('hashchange', () => {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.get('view') === 'memorization') {
      showView('memorization', { params, rerun: true });
      return;
    }
    const demo = applyHash();
    showView('convexity', { quiet: true, example: false });
    if (demo === DEMO && state.demo && !state.job) showDemo();
  });
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => showView(VIEWS[i]));
    // Arrow keys, Home and End move between the tabs and show the one reached.
    tab.addEventListener('keydown', (event) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      showView(VIEWS[(to + tabs.length) % tabs.length], { focus: true });
    });
  });
  memorization.wire();
  let timer = 0;
  let width = window.innerWidth;
  window.addEventListener('resize', () => {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    clearTimeout(timer);
    timer = setTimeout(() => (view === 'memorization' ? memorization.redraw() : render.redraw(state.run)), 150);
  });
}

// ------------------------------------------------------------------ the two views

const VIEWS = ['convexity', 'memorization'];
const TITLES = {
  convexity: 'convexlens: how convex are the classes in your embeddings?',
  memorization: 'convexlens: memorization under spurious correlations',
};
let view = 'convexity';

/**
 * Shows one view. `params`: the URL hash, for the memorization view's settings; `rerun`: the
 * hash was changed by the person; `quiet`: leave the hash as it is; `focus`: move focus to the
 * tab; `example`: start the digits example if the convexity view has shown nothing yet.
 */
function showView(name, { params = null, rerun = false, quiet = false, focus = false, example = true } = {}) {
  view = name;
  for (const v of VIEWS) {
    const tab = $(`tab-${v}`);
    tab.setAttribute('aria-selected', String(v === name));
    tab.tabIndex = v === name ? 0 : -1;
    $(`view-${v}`).hidden = v !== name;
  }
  if (focus) $(`tab-${name}`).focus();
  document.title = TITLES[name];
  $('skip').setAttribute('href', name === 'memorization' ? '#mem-data' : '#data');
  if (name === 'memorization') {
    memorization.activate(params, rerun);
    return;
  }
  memorization.deactivate();
  if (!quiet) writeHash();
  // Charts drawn while the view was hidden had no width to fit.
  render.redraw(state.run);
  if (example && state.mode === 'demo' && state.demo && !state.run && !state.job) showDemo();
}

function start() {
  if (embed) document.body.classList.add('embed');
  wire();
  const params = new URLSearchParams(location.hash.slice(1));
  const first = params.get('view') === 'memorization' ? 'memorization' : 'convexity';
  const demo = first === 'convexity' ? applyHash() : DEMO;
  refreshPickers();
  if (demo === 'none') {
    state.mode = 'none';
    render.empty('Add your files in “Your data” and press Run to see results here.');
    setStatus('');
  } else {
    render.empty('Loading the digits example…');
  }
  showView(first, { params, quiet: true });
  // The example files are fetched in any case (for "Show the digits example again"), but
  // only shown when the link asks for it and once the convexity view is shown.
  loadDemo();
}

start();
