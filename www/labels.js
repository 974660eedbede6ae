// Reads one label per row on the page, only to colour the scatter plot and to tell which class
// a clicked point is in. Every score comes from the Rust core; the page checks these labels
// against the class counts of the result and leaves the plot uncoloured if they disagree.
// Covers tables (.csv/.tsv/.txt), 1-D .npy and .json; other formats return null.

export async function readLabels(file, summary, field) {
  try {
    if (summary.format === 'csv' || summary.format === 'tsv') return tableColumn(await file.text(), summary, field);
    if (summary.format === 'npy') return npyColumn(await file.arrayBuffer());
    if (summary.format === 'json') return jsonColumn(await file.text(), summary, field);
  } catch {
    // Unreadable here: the plot is then drawn in one colour.
  }
  return null;
}

/** As the core prints numbers as labels: whole numbers plainly, others in their shortest f32 form. */
function numberText(value) {
  if (Number.isInteger(value)) return String(value);
  const f = Math.fround(value);
  for (let p = 1; p <= 9; p++) {
    const text = f.toPrecision(p);
    if (Math.fround(Number(text)) === f) return String(Number(text));
  }
  return String(f);
}

function splitLine(line, delimiter) {
  if (delimiter === '\t') return line.split('\t'); // a tab file has no quoting
  const cells = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) { cells.push(cell); cell = ''; }
    else cell += c;
  }
  cells.push(cell);
  return cells;
}

function tableColumn(text, summary, field) {
  const delimiter = summary.format === 'tsv' ? '\t' : ',';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length > 0);
  const names = summary.arrays.map((a) => a.name);
  let index;
  let dtype;
  if (summary.arrays.length === 1 && summary.arrays[0].shape.length === 2) {
    index = 0; // a headerless numeric file read as one n x 1 matrix
    dtype = summary.arrays[0].dtype;
  } else {
    index = field == null ? 0 : names.indexOf(field);
    if (index < 0) return null;
    dtype = summary.arrays[index].dtype;
  }
  const rows = (summary.table ? lines.slice(1) : lines).map((l) => splitLine(l, delimiter)[index] ?? '');
  if (dtype === 'int64') return rows.map((c) => BigInt(c.trim()).toString());
  if (dtype === 'float32') return rows.map((c) => numberText(Number(c.trim())));
  return rows;
}

function npyColumn(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const major = bytes[6];
  const start = major === 1 ? 10 : 12;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1].split(',').filter((s) => s.trim()).map(Number);
  if (!descr || !shape || shape.length < 1 || shape.length > 2 || (shape.length === 2 && shape[1] !== 1)) return null;
  const little = descr[0] !== '>';
  const kind = descr[1];
  const size = Number(descr.slice(2)); // bytes, or characters of 4 bytes for 'U'
  const stride = kind === 'U' ? 4 * size : size;
  const readers = {
    i1: (at) => view.getInt8(at), u1: (at) => view.getUint8(at),
    i2: (at) => view.getInt16(at, little), u2: (at) => view.getUint16(at, little),
    i4: (at) => view.getInt32(at, little), u4: (at) => view.getUint32(at, little),
    i8: (at) => view.getBigInt64(at, little), u8: (at) => view.getBigUint64(at, little),
    b1: (at) => (bytes[at] ? 1 : 0),
    f4: (at) => numberText(view.getFloat32(at, little)), f8: (at) => numberText(view.getFloat64(at, little)),
  };
  const text = (at) => {
    if (kind === 'S') {
      const end = bytes.subarray(at, at + size).indexOf(0);
      return new TextDecoder().decode(bytes.subarray(at, end < 0 ? at + size : at + end));
    }
    let s = '';
    for (let j = 0; j < size; j++) {
      const code = view.getUint32(at + 4 * j, little);
      if (code === 0) break;
      s += String.fromCodePoint(code);
    }
    return s;
  };
  const read = kind === 'U' || kind === 'S' ? text : readers[`${kind}${size}`];
  if (!read) return null;
  const offset = start + headerLength;
  return Array.from({ length: shape[0] }, (_, i) => String(read(offset + i * stride)));
}

function jsonColumn(text, summary, field) {
  const value = JSON.parse(text.replace(/^\uFEFF/, ''));
  let items;
  if (Array.isArray(value)) items = summary.table ? value.map((r) => r[field ?? summary.arrays[0].name]) : value;
  else items = value[field ?? summary.arrays.find((a) => a.shape.length === 1)?.name];
  if (!Array.isArray(items)) return null;
  return items.map((v) => (Array.isArray(v) ? v[0] : v)).map((v) =>
    typeof v === 'number' ? numberText(v) : typeof v === 'boolean' ? String(Number(v)) : String(v));
}
