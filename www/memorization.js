// The memorization view (You et al. 2025, SPEC §4): its own files, pickers and settings, and
// runs in its own worker, so that cancelling here never touches a convexity run. The example
// (digits with a spurious corner patch) is fetched from this site when the view is first shown.
import { Analyst, Cancelled } from './client.js';
import { readLabels } from './labels.js';
import { RunBar } from './runbar.js';
import * as results from './memorization-results.js';
import { el, fileErrorItems, fileItems } from './render.js';
import * as S from './sources.js';
import { key, unkey } from './sources.js';

const $ = (id) => document.getElementById(id);
const DEMO = 'spurious';
const view = () => $('view-memorization');

const state = {
  active: false,
  started: false, // the view has been shown once
  mode: 'demo', // 'demo' shows the example; 'user' once the person adds files; 'none' for an empty view
  analyst: null, // made when the view is first shown
  entries: new Map(), // file name -> {file, summary, demo}
  errors: new Map(), // file name -> message
  demo: null, // {manifest, files}
  demoLoad: null, // the fetch of the example, once
  demoStarting: false,
  touched: new Set(), // pickers the person has set: not guessed again
  headAsked: null, // 'own' or 'fit' from a link, for the example
  job: null,
  run: null,
};

// ------------------------------------------------------------------ settings and the URL hash

// The defaults are the command line's (`convexlens memorization`), except that tracing,
// mitigation and a ridge alpha of 1 are on, so the view shows every part of the analysis.
const SETTINGS = [
  { key: 'models', id: 'mem-models', def: '100', check: (v) => Number.isInteger(v) && v >= 0 && v <= 100000, what: 'Heads refitted on subsets must be a whole number from 0 to 100000.' },
  { key: 'fraction', id: 'mem-fraction', def: '0.7', check: (v) => v > 0 && v < 1, what: 'The share of training rows per refit must lie strictly between 0 and 1.' },
  { key: 'seed', id: 'mem-seed', def: '0', check: (v) => Number.isInteger(v) && v >= 0 && v <= 4294967295, what: 'The random seed must be a whole number from 0 to 4294967295.' },
  { key: 'alpha', id: 'mem-alpha', def: '1', blank: true, check: (v) => v > 0 && Number.isFinite(v), what: 'Ridge alpha must be a number above 0, or blank to skip.' },
];
const SWITCHES = [
  { key: 'trace', id: 'mem-trace', def: true },
  { key: 'mlp', id: 'mem-mlp', def: false },
  { key: 'mitigate', id: 'mem-mitigate', def: true },
];
const ABLATIONS = ['zero', 'mean', 'noise'];

function readSettings() {
  const values = {};
  const problems = [];
  for (const s of SETTINGS) {
    const text = $(s.id).value.trim();
    if (text === '' && s.blank) {
      values[s.key] = null;
      $(s.id).removeAttribute('aria-invalid');
      continue;
    }
    const v = Number(text);
    if (text === '' || !s.check(v)) {
      problems.push(s.what);
      $(s.id).setAttribute('aria-invalid', 'true');
    } else {
      values[s.key] = v;
      $(s.id).removeAttribute('aria-invalid');
    }
  }
  $('mem-params-error').textContent = problems.join(' ');
  return problems.length ? null : values;
}

const headSource = () => ($('mem-head-own').checked ? 'own' : 'fit');
const grouping = () => ($('mem-by-group').checked ? 'group' : 'attr');

/** Writes the settings (never file or group names) into the hash while this view is shown. */
function writeHash() {
  if (!state.active) return;
  const p = new URLSearchParams();
  p.set('view', 'memorization');
  if (state.mode === 'demo') p.set('demo', DEMO);
  if (state.mode === 'none') p.set('demo', 'none');
  for (const s of SETTINGS) p.set(s.key, $(s.id).value.trim());
  for (const s of SWITCHES) p.set(s.key, $(s.id).checked ? '1' : '0');
  p.set('ablation', $('mem-ablation').value);
  p.set('head', headSource());
  const hash = `#${p.toString()}`;
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

/** Applies a link's settings to the controls; returns the example it asks for, or 'none'. */
function applyHash(p) {
  for (const s of SETTINGS) $(s.id).value = p.has(s.key) ? p.get(s.key) : s.def;
  for (const s of SWITCHES) $(s.id).checked = p.has(s.key) ? p.get(s.key) === '1' : s.def;
  $('mem-ablation').value = ABLATIONS.includes(p.get('ablation')) ? p.get('ablation') : 'zero';
  state.headAsked = p.get('head') === 'fit' || p.get('head') === 'own' ? p.get('head') : null;
  if (state.headAsked && state.mode === 'demo') $(`mem-head-${state.headAsked}`).checked = true;
  showOptions();
  readSettings();
  return p.get('demo') === 'none' ? 'none' : DEMO;
}

function showOptions() {
  $('mem-attr-field').hidden = grouping() !== 'attr';
  $('mem-group-field').hidden = grouping() !== 'group';
  $('mem-head-options').hidden = headSource() !== 'own';
  $('mem-trace-options').hidden = !$('mem-trace').checked && !$('mem-mlp').checked;
}

// ------------------------------------------------------------------ sources and pickers

const summaries = () => [...state.entries.values()].map((e) => e.summary);
const allColumns = () => [...state.entries.keys()].flatMap((file) => S.columns(summaries(), file));

// Column names that usually hold each role (ids last: they are the least certain).
const NAMES = {
  attr: /^(attr|attribute|attributes|spurious|spurious_attribute|bias|confounder|a|place|background|sensitive)$/i,
  group: /^(group|groups|group_id|g)$/i,
  split: /^(split|set|subset|partition|is_train|train|fold)$/i,
  ids: /^(id|ids|index|idx|name|filename|file|image|image_id|path)$/i,
};

function fill(select, options, chosen, blank) {
  const keep = chosen ?? select.value;
  const items = blank ? [el('option', { value: '' }, blank)] : [];
  for (const o of options) items.push(el('option', { value: o.value }, o.text));
  select.replaceChildren(...items);
  if (options.some((o) => o.value === keep) || (blank && keep === '')) select.value = keep;
}

function refreshPickers() {
  const sums = summaries();
  const columns = allColumns().map((c) => ({ value: key(c.source), text: c.source.field ? `${c.source.file} → ${c.source.field}` : `${c.source.file} (${c.rows} values)` }));
  const guess = (role, guessed) => (state.touched.has(role) ? $(`mem-${role}`).value : key(guessed));
  const labels = guess('labels', S.guessLabels(sums));
  fill($('mem-labels'), columns, labels, 'choose…');
  const labelRows = allColumns().find((c) => key(c.source) === $('mem-labels').value)?.rows;
  const matrices = S.matrices(sums);
  fill($('mem-embeddings'), matrices.map((m) => ({ value: key(m.source), text: m.text })), guess('embeddings', S.guessEmbeddings(sums, labelRows, null)), 'choose…');
  for (const role of ['attr', 'group', 'split', 'ids']) {
    fill($(`mem-${role}`), columns, guess(role, S.guessColumn(sums, NAMES[role])), role === 'ids' ? 'none' : 'choose…');
  }
  if (!state.touched.has('grouping') && state.mode === 'user') {
    const byGroup = !$('mem-attr').value && $('mem-group').value;
    $(byGroup ? 'mem-by-group' : 'mem-by-attr').checked = true;
  }
  const cols = matrices.find((m) => key(m.source) === $('mem-embeddings').value)?.cols;
  const head = state.touched.has('head') ? null : S.guessHead(sums, cols);
  fill($('mem-head-w'), matrices.map((m) => ({ value: key(m.source), text: m.text })), head ? key(head[0]) : undefined, 'choose…');
  fill($('mem-head-b'), S.vectors(sums).map((v) => ({ value: key(v.source), text: v.text })), head ? key(head[1]) : undefined, 'choose…');
  if (state.mode === 'user' && !state.touched.has('head-source')) $(head ? 'mem-head-own' : 'mem-head-fit').checked = true;
  showOptions();
  checkInputs();
}

/** The chosen sources, or a sentence saying what is missing. */
function chosen() {
  const source = (id) => unkey($(id).value);
  const c = {
    embeddings: source('mem-embeddings'),
    labels: source('mem-labels'),
    attr: grouping() === 'attr' ? source('mem-attr') : null,
    group: grouping() === 'group' ? source('mem-group') : null,
    split: source('mem-split'),
    ids: source('mem-ids'),
  };
  const missing = [];
  if (!c.embeddings) missing.push('the embeddings');
  if (!c.labels) missing.push('the label');
  if (!c.attr && !c.group) missing.push(grouping() === 'attr' ? 'the spurious attribute' : 'the group column');
  if (!c.split) missing.push('the train/test split');
  if (missing.length) c.missing = `Choose ${missing.join(', ').replace(/, ([^,]*)$/, ' and $1')}.`;
  return c;
}

function checkInputs() {
  const line = $('mem-inputs-check');
  line.className = 'fine check';
  const c = chosen();
  if (!state.entries.size) line.textContent = 'Add files to choose what to analyse.';
  else if (c.missing) line.textContent = c.missing;
  else {
    const m = S.matrices(summaries()).find((x) => key(x.source) === key(c.embeddings));
    const rowsOf = (s) => allColumns().find((x) => key(x.source) === key(s))?.rows;
    const wrong = ['labels', 'attr', 'group', 'split', 'ids'].filter((r) => c[r] && rowsOf(c[r]) !== m.rows);
    if (wrong.length) {
      line.textContent = `The embeddings have ${m.rows} rows but ${wrong.map((r) => `${c[r].field ?? c[r].file} has ${rowsOf(c[r])}`).join(', ')}: every column must describe the same rows, in the same order.`;
      line.className = 'fine check bad';
    } else {
      line.textContent = `${m.rows} rows of ${m.cols} dimensions, each with a label, a ${c.attr ? 'spurious attribute' : 'group'} and a split.`;
    }
  }
  $('mem-run').disabled = Boolean(state.job) || Boolean(c.missing);
}

// ------------------------------------------------------------------ files

function renderFiles() {
  $('mem-files').replaceChildren(...fileItems(state.entries, removeFile));
  $('mem-files-box').hidden = state.entries.size === 0;
  $('mem-demo-again').hidden = state.mode === 'demo' || !state.demo;
  $('mem-file-errors').replaceChildren(...fileErrorItems(state.errors));
}

function removeFile(name) {
  state.entries.delete(name);
  state.analyst.forget(name);
  renderFiles();
  refreshPickers();
  $('mem-dropzone').focus();
}

/** Adds files the person chose; the first ones replace the example. */
export async function addUserFiles(list) {
  const files = [...list];
  if (!files.length) return;
  if (state.mode !== 'user') {
    if (state.job) {
      state.analyst.cancel();
      finishProgress('stopped', 'Stopped the example to read your files.');
    }
    state.mode = 'user';
    for (const [name, entry] of state.entries) if (entry.demo) state.analyst.forget(name);
    state.entries.clear();
    state.touched.clear();
    state.run = null;
    results.empty('Results of your files will appear here after you press Run (in “Your data”).');
    writeHash();
  }
  state.errors.clear();
  setStatus(`Reading ${files.length} file${files.length === 1 ? '' : 's'}…`);
  let reply;
  try {
    reply = await state.analyst.addFiles(files);
  } catch (error) {
    if (!(error instanceof Cancelled)) showRunError(`Could not read the files: ${error.message}`);
    return;
  }
  for (const s of reply.summaries) {
    state.entries.delete(s.file); // re-adding moves it to the end
    state.entries.set(s.file, { file: files.find((f) => f.name === s.file), summary: s, demo: false });
  }
  for (const e of reply.errors) {
    state.errors.set(e.file, e.message);
    if (state.entries.get(e.file)?.demo === false) state.entries.delete(e.file);
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

function fetchDemo() {
  state.demoLoad ??= (async () => {
    const base = new URL('./demo/spurious/', import.meta.url);
    const get = async (name) => {
      const response = await fetch(new URL(name, base));
      if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
      return response;
    };
    const manifest = await (await get('manifest.json')).json();
    const names = [manifest.embeddings, manifest.metadata, manifest.head.w, manifest.head.b];
    const files = await Promise.all(names.map(async (name) => new File([await (await get(name)).blob()], name)));
    state.demo = { manifest, files };
  })();
  return state.demoLoad;
}

async function startDemo() {
  if (state.demoStarting) return;
  state.demoStarting = true;
  try {
    setStatus('Loading the example…');
    try {
      await fetchDemo();
    } catch (error) {
      state.demoLoad = null;
      if (state.mode === 'demo') {
        showRunError(`The example could not be loaded (${error.message}). You can still analyse your own files.`);
        state.mode = 'none';
        results.empty('Add your files in “Your data” and press Run to see results here.');
        setStatus('');
        writeHash();
      }
      return;
    }
    await showDemo();
  } finally {
    state.demoStarting = false;
  }
}

async function showDemo() {
  const { manifest, files } = state.demo;
  state.mode = 'demo';
  state.entries.clear();
  state.errors.clear();
  state.touched = new Set(['embeddings', 'labels', 'attr', 'group', 'split', 'ids', 'head', 'grouping', 'head-source']);
  const reply = await state.analyst.addFiles(files);
  for (const s of reply.summaries) state.entries.set(s.file, { file: files.find((f) => f.name === s.file), summary: s, demo: true });
  for (const e of reply.errors) state.errors.set(e.file, e.message);
  const src = (file, field = null) => key({ file, field });
  const meta = manifest.metadata;
  renderFiles();
  refreshPickers();
  $('mem-embeddings').value = src(manifest.embeddings);
  $('mem-labels').value = src(meta, manifest.label_column);
  $('mem-by-attr').checked = true;
  $('mem-attr').value = src(meta, manifest.attr_column);
  $('mem-group').value = '';
  $('mem-split').value = src(meta, manifest.split_column);
  $('mem-ids').value = key(S.guessColumn(summaries(), NAMES.ids));
  $('mem-head-w').value = src(manifest.head.w);
  $('mem-head-b').value = src(manifest.head.b);
  // The example has the model's own head; a link may ask for a fitted one instead.
  $(state.headAsked === 'fit' ? 'mem-head-fit' : 'mem-head-own').checked = true;
  $('mem-minority').value = '';
  showOptions();
  checkInputs();
  writeHash();
  await runAnalysis();
}

// ------------------------------------------------------------------ running

function plan(settings) {
  const c = chosen();
  if (c.missing) return { error: c.missing };
  let head = null;
  if (headSource() === 'own') {
    const w = unkey($('mem-head-w').value);
    const b = unkey($('mem-head-b').value);
    if (!w || !b) return { error: 'Choose the head’s weights W and bias b, or let a logistic regression be fitted here.' };
    head = { layers: [[w, b]], activation: 'relu', classes: null };
  }
  const minority = $('mem-minority').value.split(';').map((m) => m.trim()).filter(Boolean);
  const { seed } = settings;
  const trace = $('mem-trace').checked;
  const mlp = $('mem-mlp').checked;
  const mitigate = $('mem-mitigate').checked;
  // As the command line builds it: tracing options serve the MLP's tracing too.
  const options = {
    memorization: settings.models > 0 ? { models: settings.models, fraction: settings.fraction, seed } : null,
    ridge_alpha: settings.alpha,
    tracing: trace || mlp ? { ablation: $('mem-ablation').value, seed } : null,
    mlp: mlp ? { seed } : null,
    consistency: mitigate ? { seed } : null,
    dfr: mitigate ? { seed } : null,
  };
  const request = {
    embeddings: c.embeddings, labels: c.labels, attr: c.attr, group: c.group, split: c.split, ids: c.ids,
    minority: minority.length ? minority : null, head, options,
  };
  const demo = state.mode === 'demo';
  const manifest = state.demo?.manifest;
  const describe = (s) => `${s.file}${s.field ? ` (column ${s.field})` : ''}`;
  return {
    request,
    stages: stagesOf(request),
    title: demo ? 'Example: handwritten digits with a spurious corner patch' : 'Your results',
    subtitle: demo ? manifest.description : `Embeddings ${describe(c.embeddings)}; label ${describe(c.labels)}; `
      + `${c.attr ? `attribute ${describe(c.attr)}` : `group ${describe(c.group)}`}; split ${describe(c.split)}.`,
    fileStem: demo ? 'convexlens-memorization-spurious' : `convexlens-memorization-${c.embeddings.file.replace(/\.[^.]+$/, '')}`,
  };
}

/**
 * The steps the core reports, in order, with their rough share of the time (milliseconds on
 * the example in Chromium) and what to call them on the progress bar.
 */
function stagesOf(request) {
  const o = request.options;
  const list = [];
  const add = (stage, weight, text) => list.push({ stage, weight, text });
  const trace = (what, width) => {
    const noise = o.tracing.ablation === 'noise';
    add('tracing: single neurons', width * (noise ? 0.8 : 0.06), `Tracing ${what}: one at a time`);
    add('tracing: ranked ablation', width * (noise ? 4.3 : 0.08), `Tracing ${what}: the top-ranked ones together`);
  };
  if (!request.head) add('fitting the head', 330, 'Fitting a logistic-regression head on the training rows');
  if (o.memorization) add('memorization: refitting heads', 21 * o.memorization.models, `Refitting ${o.memorization.models} heads, each on ${Math.round(100 * o.memorization.fraction)}% of the training rows`);
  if (o.ridge_alpha != null) add('ridge leave-one-out', 125, 'Ridge leave-one-out scores');
  if (o.tracing) trace('the embedding dimensions', 256);
  if (o.mlp) {
    add('training the MLP head', 2100, 'Training an MLP head');
    trace('the MLP head’s hidden units', 64);
  }
  if (o.consistency) add('mitigation: consistency training', 1650, 'Mitigation: consistency training');
  if (o.dfr) {
    add('mitigation: DFR choosing C', 20, 'Mitigation: DFR, choosing its regularisation');
    add('mitigation: DFR refits', 80, 'Mitigation: DFR, group-balanced refits');
  }
  return list;
}

/** Maps the core's (stage, fraction of that stage) to one bar over the whole run. */
function tracker(stages) {
  const total = stages.reduce((s, x) => s + x.weight, 0) || 1;
  let index = 0;
  let shown = 0;
  return (stage, fraction) => {
    const at = stages.findIndex((s, i) => i >= index && s.stage === stage);
    if (at < 0) return { text: stage, fraction: shown };
    index = at;
    const done = stages.slice(0, at).reduce((s, x) => s + x.weight, 0);
    shown = Math.max(shown, (done + stages[at].weight * Math.min(1, Math.max(0, fraction))) / total);
    return { text: `${stages[at].text} (step ${at + 1} of ${stages.length})`, fraction: shown };
  };
}

/** The columns of the metadata table (for the most memorized rows), read on the page. */
async function readMetadata(request) {
  const table = [request.ids, request.labels, request.attr, request.group, request.split].find((s) => s && state.entries.get(s.file)?.summary.table);
  const out = { columns: [], ids: null };
  const read = async (source) => {
    const entry = state.entries.get(source.file);
    return entry ? readLabels(entry.file, entry.summary, source.field) : null;
  };
  if (table) {
    const entry = state.entries.get(table.file);
    for (const a of entry.summary.arrays.slice(0, 8)) {
      const values = await read({ file: table.file, field: a.name });
      if (values) out.columns.push({ name: a.name, values });
    }
  }
  if (request.ids) out.ids = await read(request.ids);
  return out;
}

async function runAnalysis() {
  const settings = readSettings();
  if (!settings) return showRunError('Fix the parameters first (see “Parameters”).');
  const p = plan(settings);
  if (p.error) return showRunError(p.error);
  writeHash();
  clearRunError();
  const job = { started: performance.now() };
  const run = { ...p, result: null, metadata: null, ids: null };
  state.job = job;
  state.run = run;
  results.reset(run);
  startProgress();
  const track = tracker(p.stages);
  const metadata = readMetadata(p.request);
  try {
    const result = await state.analyst.run('memorization', p.request, (stage, fraction) => {
      if (job !== state.job) return;
      const { text, fraction: f } = track(stage, fraction);
      showProgress(text, f);
    });
    if (job !== state.job) return;
    const meta = await metadata;
    run.metadata = meta.columns;
    run.ids = meta.ids;
    run.result = result;
    const seconds = ((performance.now() - job.started) / 1000).toFixed(1);
    run.seconds = Number(seconds);
    results.show(run);
    finishProgress('done', `Computed in this tab in ${seconds} s.`);
  } catch (error) {
    if (error instanceof Cancelled || job !== state.job) return;
    finishProgress('error', 'The analysis stopped with an error.');
    showRunError(`The analysis stopped: ${error.message}. Change the choices in “Your data” and press Run again.`);
    results.nothing(run, 'No results: see the message above.');
  }
}

// ------------------------------------------------------------------ progress, status, errors

const bar = new RunBar('mem-', view());
const setStatus = (text) => bar.status(text);
const showRunError = (message) => bar.error(message);
const clearRunError = () => bar.clearError();

function startProgress() {
  bar.start(state.mode === 'demo' ? 'Computing the example…' : 'Computing…');
  checkInputs();
}

/** `text` may end in "(step i of n)"; the rest is announced. */
const showProgress = (text, fraction) => bar.progress(text, fraction, text.replace(/ \(step.*$/, ''));

function finishProgress(how, message) {
  state.job = null;
  bar.finish(how, message);
  checkInputs();
}

function cancel() {
  if (!state.job) return;
  state.analyst.cancel();
  state.job = null;
  bar.cancelled();
  checkInputs();
  if (state.run) results.nothing(state.run, 'No results: the run was cancelled. Press Run to start again.');
  $('mem-run').focus();
}

// ------------------------------------------------------------------ the view

/**
 * Shows the view. `params` (the URL hash) applies a link's settings; with `rerun` (the hash
 * was changed) a link to the example shows it again, as in the convexity view.
 */
export function activate(params = null, rerun = false) {
  state.active = true;
  state.analyst ??= new Analyst();
  const demo = params ? applyHash(params) : null;
  if (!state.started) {
    state.started = true;
    if (demo === 'none') {
      state.mode = 'none';
      results.empty('Add your files in “Your data” and press Run to see results here.');
      setStatus('');
    } else {
      results.empty('Loading the example…');
    }
    refreshPickers();
  }
  writeHash();
  results.redraw(state.run);
  if (state.job) return;
  if ((state.mode === 'demo' && !state.run) || (rerun && demo === DEMO)) startDemo();
}

export function deactivate() {
  state.active = false;
}

export function redraw() {
  results.redraw(state.run);
}

export function wire() {
  const input = $('mem-file-input');
  $('mem-dropzone').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    addUserFiles(input.files);
    input.value = '';
  });
  $('mem-demo-again').addEventListener('click', () => {
    if (state.job) cancel();
    startDemo();
  });
  for (const role of ['embeddings', 'labels', 'attr', 'group', 'split', 'ids']) {
    $(`mem-${role}`).addEventListener('change', () => {
      state.touched.add(role);
      refreshPickers();
    });
  }
  for (const id of ['mem-head-w', 'mem-head-b']) {
    $(id).addEventListener('change', () => {
      state.touched.add('head');
      refreshPickers();
    });
  }
  for (const id of ['mem-by-attr', 'mem-by-group']) {
    $(id).addEventListener('change', () => {
      state.touched.add('grouping');
      showOptions();
      checkInputs();
    });
  }
  for (const id of ['mem-head-own', 'mem-head-fit']) {
    $(id).addEventListener('change', () => {
      state.touched.add('head-source');
      showOptions();
      writeHash();
    });
  }
  for (const s of SETTINGS) {
    $(s.id).addEventListener('input', () => {
      if (readSettings()) writeHash();
    });
  }
  for (const id of ['mem-trace', 'mem-mlp', 'mem-mitigate', 'mem-ablation']) {
    $(id).addEventListener('change', () => {
      showOptions();
      writeHash();
    });
  }
  $('mem-run').addEventListener('click', () => {
    if (!state.job) runAnalysis();
  });
  $('mem-cancel').addEventListener('click', cancel);
  $('mem-export-json').addEventListener('click', () => state.run?.result && results.exportJson(state.run));
  $('mem-export-csv').addEventListener('click', () => state.run?.result && results.exportGroups(state.run));
  $('mem-export-rows').addEventListener('click', () => state.run?.result && results.exportRows(state.run));
  results.wire();
}
