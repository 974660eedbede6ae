// What the loaded files offer to the pickers, from the worker's summaries of them (format,
// arrays or columns, shapes), and guesses of which is which. No DOM here.
// A Source is {file, field}: field names a column of a table or an array of a multi-array file.

export const key = (source) => (source ? JSON.stringify([source.file, source.field ?? null]) : '');
export const unkey = (value) => (value ? (([file, field]) => ({ file, field }))(JSON.parse(value)) : null);
export const shapeText = (shape) => (shape.length ? shape.join(' × ') : 'one value');
const NUMERIC = (dtype) => dtype !== 'text';

/** Sources that read as a matrix of numbers (embeddings, layers, head weights). */
export function matrices(summaries) {
  const out = [];
  for (const summary of summaries) {
    const { file, arrays, table } = summary;
    if (table) {
      if (arrays.length >= 2 && arrays.every((a) => NUMERIC(a.dtype))) {
        out.push({ source: { file, field: null }, rows: arrays[0].shape[0], cols: arrays.length, text: `${file} (${arrays[0].shape[0]} × ${arrays.length})` });
      }
      continue;
    }
    for (const a of arrays) {
      if (a.shape.length !== 2 || !NUMERIC(a.dtype)) continue;
      const field = arrays.length > 1 ? a.name : null;
      out.push({ source: { file, field }, rows: a.shape[0], cols: a.shape[1], text: `${file}${field ? ` → ${field}` : ''} (${shapeText(a.shape)})` });
    }
  }
  return out;
}

/** Sources with one value per row (labels, split, head bias). */
export function columns(summaries, file) {
  const summary = summaries.find((x) => x.file === file);
  if (!summary) return [];
  const { arrays, table } = summary;
  return arrays
    .filter((a) => a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1))
    .map((a) => ({
      source: { file, field: table || arrays.length > 1 ? a.name : null },
      rows: a.shape[0],
      dtype: a.dtype,
      name: a.name,
      text: table || arrays.length > 1 ? `${a.name} (${a.shape[0]} values, ${a.dtype})` : `the whole file (${a.shape[0]} values)`,
    }));
}

/** Sources with one number per output of a head (a bias). */
export function vectors(summaries) {
  const out = [];
  for (const summary of summaries) {
    for (const a of summary.arrays) {
      if (summary.table || !NUMERIC(a.dtype)) continue;
      const [r, c = 1] = a.shape;
      if (a.shape.length === 0 || (r !== 1 && c !== 1)) continue;
      const field = summary.arrays.length > 1 ? a.name : null;
      out.push({ source: { file: summary.file, field }, length: r * c, text: `${summary.file}${field ? ` → ${field}` : ''} (${shapeText(a.shape)})` });
    }
  }
  return out;
}

export const LABEL_NAMES = ['label', 'labels', 'class', 'classes', 'y', 'target', 'targets', 'category', 'digit', 'diagnosis'];

/** The column most likely to hold the class labels. */
export function guessLabels(summaries) {
  let best = null;
  let bestScore = -Infinity;
  for (const summary of summaries) {
    const { file } = summary;
    for (const c of columns(summaries, file)) {
      let score = 0;
      if (LABEL_NAMES.includes(c.name.toLowerCase())) score += 4;
      if (/label|class|target/i.test(file)) score += 2;
      if (summary.table) score += 1;
      if (c.dtype === 'float32' || c.dtype.includes('f')) score -= 1;
      if (/^(split|index|id|idx|fold|set)$/i.test(c.name)) score -= 3;
      if (score > bestScore) { bestScore = score; best = c.source; }
    }
  }
  return best;
}

/** The matrix most likely to be the embeddings: as many rows as the labels, added last. */
export function guessEmbeddings(summaries, rows, lastLayer) {
  const order = summaries.map((x) => x.file);
  let best = null;
  let bestScore = -Infinity;
  for (const m of matrices(summaries)) {
    let score = order.indexOf(m.source.file) / 1000;
    if (rows != null && m.rows === rows) score += 4;
    if (m.cols > 1) score += 1;
    if (/emb|vector|feat|hidden|repr/i.test(m.source.file)) score += 1;
    if (/head|weight|(^|[_\-.])w([_\-.]|$)/i.test(m.source.file)) score -= 3;
    if (key(m.source) === key(lastLayer)) score += 2; // the last layer of the last model
    if (score > bestScore) { bestScore = score; best = m.source; }
  }
  return best;
}

/** Weights and bias of a linear head that fits embeddings of `cols` dimensions. */
export function guessHead(summaries, cols) {
  const ws = matrices(summaries).filter((m) => /head|weight|(^|[_\-.])w([_\-.]|$)/i.test(m.source.field ?? m.source.file) && (m.cols === cols || m.rows === cols));
  for (const w of ws) {
    const outputs = w.cols === cols ? w.rows : w.cols;
    const b = vectors(summaries).find((v) => v.length === outputs && /bias|(^|[_\-.])b([_\-.]|$)/i.test(v.source.field ?? v.source.file));
    if (b) return [w.source, b.source];
  }
  return null;
}

/** Files named like "<model>_layer<N>": grouped by model, ordered by N. */
export function guessLayers(summaries) {
  const groups = new Map();
  for (const m of matrices(summaries)) {
    const match = /^(.*?)[_\-. ]?layer[_\-. ]?(\d+)/i.exec(m.source.file.replace(/\.[^.]+$/, ''));
    if (!match) continue;
    const name = match[1] || 'model';
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push({ n: Number(match[2]), source: m.source });
  }
  const models = [...groups.entries()].filter(([, l]) => l.length >= 2)
    .map(([name, l]) => ({ name, layers: l.sort((x, y) => x.n - y.n).map((x) => x.source) }));
  const rank = (name) => (/pre|base|init/i.test(name) ? 0 : /fine|ft|tuned|trained/i.test(name) ? 2 : 1);
  return models.sort((x, y) => rank(x.name) - rank(y.name)).slice(0, 2);
}

/** The first column (of any file) whose name matches `pattern`, tables before other files. */
export function guessColumn(summaries, pattern) {
  const ordered = [...summaries].sort((a, b) => Number(Boolean(b.table)) - Number(Boolean(a.table)));
  for (const summary of ordered) {
    const found = columns(summaries, summary.file).find((c) => pattern.test(c.name));
    if (found) return found.source;
  }
  return null;
}
