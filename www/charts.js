// Hand-drawn canvas charts: a line chart (layers, tracing), a bar chart with error bars and
// markers (classes, mitigation), small-multiple histograms (memorization scores), and a scatter
// plot drawn once with a separate overlay for selections and paths.
// The tables next to each chart hold the same numbers as text.

const INK = '#1f2937';
const MUTED = '#4b5563';
const GRID = '#e5e7eb';
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Sizes a canvas to its CSS width and the given CSS height, sharp on high-density screens. */
export function prepare(canvas, height) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(240, canvas.parentElement.clientWidth);
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  return { ctx, width, height };
}

/** Round tick values covering [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return { values: out, step };
}

/** Y axis with grid lines and labels; returns the value-to-pixel function. */
function yAxis(ctx, area, lo, hi, label) {
  const y = (v) => area.bottom - ((v - lo) / (hi - lo)) * (area.bottom - area.top);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of ticks(lo, hi).values) {
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(area.left, y(v));
    ctx.lineTo(area.right, y(v));
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(String(v), area.left - 6, y(v));
  }
  ctx.save();
  ctx.translate(10, (area.top + area.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillStyle = INK;
  ctx.fillText(label, 0, 0);
  ctx.restore();
  return y;
}

/** Category labels under the x axis, thinned out when they would overlap. */
function xLabels(ctx, area, categories, x) {
  ctx.fillStyle = INK;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const widest = Math.max(...categories.map((c) => ctx.measureText(c).width)) + 8;
  const room = (area.right - area.left) / Math.max(1, categories.length);
  const every = Math.max(1, Math.ceil(widest / room));
  categories.forEach((c, i) => {
    if (i % every === 0) ctx.fillText(c, x(i), area.bottom + 6);
  });
}

/** One row of legend entries at the top; `draw(ctx, x, y, entry)` paints the key. */
function legend(ctx, entries, width, draw) {
  let x = 48;
  let y = 10;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const entry of entries) {
    const w = 28 + ctx.measureText(entry.name).width + 16;
    if (x + w > width - 8) {
      x = 48;
      y += 18;
    }
    draw(ctx, x, y, entry);
    ctx.fillStyle = INK;
    ctx.fillText(entry.name, x + 26, y);
    x += w;
  }
  return y + 14;
}

function marker(ctx, shape, x, y, size = 4) {
  ctx.beginPath();
  if (shape === 'square') ctx.rect(x - size, y - size, 2 * size, 2 * size);
  else ctx.arc(x, y, size, 0, 2 * Math.PI);
  ctx.fill();
}

/**
 * series: [{name, color, dash: [..], shape: 'circle'|'square', values: [number|null]}]
 * One x position per category; the y range fits the data (it need not include 0).
 * xLabel, when given, names the categories under their labels.
 */
export function lineChart(canvas, { categories, series, yLabel, xLabel, height = 300 }) {
  const { ctx, width } = prepare(canvas, height);
  const top = legend(ctx, series, width, (c, x, y, s) => {
    c.strokeStyle = s.color;
    c.fillStyle = s.color;
    c.lineWidth = 2;
    c.setLineDash(s.dash ?? []);
    c.beginPath();
    c.moveTo(x, y);
    c.lineTo(x + 22, y);
    c.stroke();
    c.setLineDash([]);
    marker(c, s.shape, x + 11, y, 3.5);
  });
  const values = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const pad = Math.max(0.5, (hi - lo) * 0.15);
  lo = Math.max(0, Math.floor(lo - pad));
  hi = Math.min(100, Math.ceil(hi + pad));
  if (hi <= lo) hi = lo + 1;
  const area = { left: 58, right: width - 16, top: top + 8, bottom: height - (xLabel ? 48 : 30) };
  const y = yAxis(ctx, area, lo, hi, yLabel);
  const step = (area.right - area.left) / Math.max(1, categories.length);
  const x = (i) => area.left + step * (i + 0.5);
  xLabels(ctx, area, categories, x);
  if (xLabel) {
    ctx.textBaseline = 'bottom';
    ctx.fillText(xLabel, (area.left + area.right) / 2, height - 4);
  }
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dash ?? []);
    ctx.beginPath();
    let open = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) { open = false; return; }
      if (open) ctx.lineTo(x(i), y(v));
      else ctx.moveTo(x(i), y(v));
      open = true;
    });
    ctx.stroke();
    ctx.setLineDash([]);
    s.values.forEach((v, i) => Number.isFinite(v) && marker(ctx, s.shape, x(i), y(v)));
  }
}

/**
 * Grouped bars on a 0-100 scale. series: [{name, color, values, errors}] (errors: ± per bar);
 * markers: {name, color, values} drawn as a short line across each category's group.
 */
export function barChart(canvas, { categories, series, markers, yLabel, height = 280 }) {
  const { ctx, width } = prepare(canvas, height);
  const keys = markers ? [...series, { ...markers, isMarker: true }] : series;
  const top = legend(ctx, keys, width, (c, x, y, s) => {
    c.fillStyle = s.color;
    if (s.isMarker) c.fillRect(x, y - 1.5, 22, 3);
    else c.fillRect(x + 4, y - 6, 14, 12);
  });
  const area = { left: 58, right: width - 12, top: top + 8, bottom: height - 30 };
  const y = yAxis(ctx, area, 0, 100, yLabel);
  const group = (area.right - area.left) / Math.max(1, categories.length);
  const x = (i) => area.left + group * (i + 0.5);
  xLabels(ctx, area, categories, x);
  const inner = Math.min(group * 0.8, 26 * series.length);
  const bar = inner / series.length;
  categories.forEach((_, i) => {
    const left = x(i) - inner / 2;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (!Number.isFinite(v)) return;
      const bx = left + j * bar;
      ctx.fillStyle = s.color;
      ctx.fillRect(bx + 1, y(v), bar - 2, area.bottom - y(v));
      const e = s.errors?.[i];
      if (Number.isFinite(e) && e > 0) {
        const cx = bx + bar / 2;
        ctx.strokeStyle = INK;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(cx, y(Math.min(100, v + e)));
        ctx.lineTo(cx, y(Math.max(0, v - e)));
        for (const end of [Math.min(100, v + e), Math.max(0, v - e)]) {
          ctx.moveTo(cx - 3, y(end));
          ctx.lineTo(cx + 3, y(end));
        }
        ctx.stroke();
      }
    });
    const m = markers?.values[i];
    if (Number.isFinite(m)) {
      ctx.fillStyle = markers.color;
      ctx.fillRect(left - 3, y(m) - 1.5, inner + 6, 3);
    }
  });
}

/**
 * Histograms as small multiples on one canvas, one panel per entry, sharing both axes:
 * panels: [{title, color, counts, mean, meanText}], the counts in equal bins spanning [lo, hi].
 * Bars show each bin's share of the panel's total (%); a dashed line marks the mean.
 */
export function histograms(canvas, { panels, lo, hi, xLabel, panelHeight = 180 }) {
  const columns = Math.max(240, canvas.parentElement.clientWidth) >= 600 ? 2 : 1;
  const rows = Math.ceil(panels.length / columns);
  const { ctx, width } = prepare(canvas, rows * panelHeight + 22);
  const shares = panels.map((p) => {
    const total = p.counts.reduce((s, c) => s + c, 0);
    return p.counts.map((c) => (total ? (100 * c) / total : 0));
  });
  const top = Math.max(1, ...shares.flat());
  const scale = ticks(0, top, 3);
  const yMax = scale.values.at(-1) < top ? scale.values.at(-1) + scale.step : scale.values.at(-1);
  const panelWidth = width / columns;
  panels.forEach((p, i) => {
    const x0 = (i % columns) * panelWidth;
    const y0 = Math.floor(i / columns) * panelHeight;
    const area = { left: x0 + 48, right: x0 + panelWidth - 14, top: y0 + 38, bottom: y0 + panelHeight - 26 };
    const y = (v) => area.bottom - (v / yMax) * (area.bottom - area.top);
    const x = (v) => area.left + ((v - lo) / (hi - lo)) * (area.right - area.left);
    ctx.fillStyle = p.color;
    ctx.fillRect(x0 + 10, y0 + 6, 12, 12);
    ctx.fillStyle = INK;
    ctx.font = `bold ${FONT}`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillText(p.title, x0 + 28, y0 + 12);
    ctx.font = FONT;
    ctx.textAlign = 'right';
    for (const v of ticks(0, yMax, 3).values) {
      ctx.strokeStyle = GRID;
      ctx.beginPath();
      ctx.moveTo(area.left, y(v));
      ctx.lineTo(area.right, y(v));
      ctx.stroke();
      ctx.fillStyle = MUTED;
      ctx.fillText(`${v}%`, area.left - 6, y(v));
    }
    const bin = (area.right - area.left) / p.counts.length;
    ctx.fillStyle = p.color;
    shares[i].forEach((v, j) => {
      if (v > 0) ctx.fillRect(area.left + j * bin + 0.5, y(v), Math.max(1, bin - 1), area.bottom - y(v));
    });
    ctx.strokeStyle = INK;
    ctx.beginPath();
    ctx.moveTo(area.left, area.bottom + 0.5);
    ctx.lineTo(area.right, area.bottom + 0.5);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const v of ticks(lo, hi, 4).values) ctx.fillText(String(v), x(v), area.bottom + 4);
    if (Number.isFinite(p.mean)) {
      ctx.strokeStyle = INK;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x(p.mean), area.top - 2);
      ctx.lineTo(x(p.mean), area.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
      ctx.fillStyle = INK;
      ctx.textBaseline = 'bottom';
      ctx.textAlign = x(p.mean) > (area.left + area.right) / 2 ? 'right' : 'left';
      ctx.fillText(` ${p.meanText ?? `mean ${p.mean.toFixed(2)}`} `, x(p.mean), area.top - 2);
    }
  });
  if (xLabel) {
    ctx.fillStyle = INK;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(xLabel, width / 2, rows * panelHeight + 20);
  }
}

/** Distinct class colours: a fixed palette for up to ten classes, then spread hues. */
export function palette(count) {
  const base = ['#1f77b4', '#e8710a', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#5f6368', '#b5a300', '#17becf'];
  if (count <= base.length) return base.slice(0, count);
  return Array.from({ length: count }, (_, i) => `hsl(${Math.round((i * 137.508) % 360)}, 65%, ${i % 2 ? 38 : 50}%)`);
}

/**
 * A scatter plot of many points. The points are painted once (again only on resize); the
 * overlay canvas above them is cleared and redrawn for selections and paths.
 */
export class Scatter {
  constructor(base, overlay, height = 420) {
    this.base = base;
    this.overlay = overlay;
    this.height = height;
    this.coords = null;
  }

  /** coords: Float32Array [x0, y0, x1, y1, ...]; groups: class index per row (or null); colors per class. */
  setData(coords, groups, colors) {
    this.coords = coords;
    this.groups = groups;
    this.colors = colors;
    this.marks = { selected: [], path: [] };
    this.render();
  }

  render() {
    if (!this.coords) return;
    const n = this.coords.length / 2;
    const { ctx, width, height } = prepare(this.base, this.height);
    prepare(this.overlay, this.height);
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      const x = this.coords[2 * i];
      const y = this.coords[2 * i + 1];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    // One scale for both axes, so that distances on screen are proportional in every direction.
    const margin = 12;
    const scale = Math.min((width - 2 * margin) / (x1 - x0 || 1), (height - 2 * margin) / (y1 - y0 || 1));
    const ox = (width - scale * (x1 - x0)) / 2;
    const oy = (height - scale * (y1 - y0)) / 2;
    this.px = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      this.px[2 * i] = ox + scale * (this.coords[2 * i] - x0);
      this.px[2 * i + 1] = height - (oy + scale * (this.coords[2 * i + 1] - y0));
    }
    // Paint to an offscreen canvas, class by class, then copy it in one call.
    const off = document.createElement('canvas');
    off.width = this.base.width;
    off.height = this.base.height;
    const octx = off.getContext('2d');
    octx.scale(this.base.width / width, this.base.height / height);
    const size = n > 20000 ? 1.5 : n > 3000 ? 2.5 : 4.5;
    octx.globalAlpha = n > 20000 ? 0.6 : 0.85;
    const classes = this.colors.length || 1;
    for (let c = 0; c < classes; c++) {
      octx.fillStyle = this.colors[c] ?? '#1f77b4';
      octx.beginPath();
      for (let i = 0; i < n; i++) {
        if (this.groups && this.groups[i] !== c) continue;
        octx.rect(this.px[2 * i] - size / 2, this.px[2 * i + 1] - size / 2, size, size);
      }
      octx.fill();
      if (!this.groups) break;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(off, 0, 0);
    this.buildGrid(width, height);
    this.drawOverlay();
  }

  buildGrid(width, height) {
    this.cell = 12;
    this.cols = Math.ceil(width / this.cell) + 1;
    const rows = Math.ceil(height / this.cell) + 1;
    this.grid = Array.from({ length: this.cols * rows }, () => []);
    for (let i = 0; i < this.px.length / 2; i++) {
      const gx = Math.floor(this.px[2 * i] / this.cell);
      const gy = Math.floor(this.px[2 * i + 1] / this.cell);
      this.grid[gy * this.cols + gx]?.push(i);
    }
  }

  /** The row nearest to a point in CSS pixels of the canvas, within 10 px; else -1. */
  pick(x, y) {
    if (!this.grid) return -1;
    let best = -1;
    let bestD = 100;
    const gx = Math.floor(x / this.cell);
    const gy = Math.floor(y / this.cell);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        if (gx + dx < 0 || gx + dx >= this.cols) continue;
        for (const i of this.grid[(gy + dy) * this.cols + gx + dx] ?? []) {
          const d = (this.px[2 * i] - x) ** 2 + (this.px[2 * i + 1] - y) ** 2;
          if (d < bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  mark(selected = [], path = []) {
    this.marks = { selected, path };
    this.drawOverlay();
  }

  drawOverlay() {
    const ratio = this.overlay.width / parseFloat(this.overlay.style.width || this.overlay.width);
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const at = (i) => [this.px[2 * i], this.px[2 * i + 1]];
    const color = (i) => (this.groups ? this.colors[this.groups[i]] : '#1f77b4');
    const { selected, path } = this.marks;
    if (path.length > 1) {
      ctx.strokeStyle = INK;
      ctx.lineWidth = 2;
      ctx.beginPath();
      path.forEach((i, k) => (k ? ctx.lineTo(...at(i)) : ctx.moveTo(...at(i))));
      ctx.stroke();
      for (const i of path.slice(1, -1)) {
        ctx.fillStyle = color(i);
        ctx.strokeStyle = INK;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.arc(...at(i), 5, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }
    for (const i of selected) {
      ctx.fillStyle = color(i);
      ctx.beginPath();
      ctx.arc(...at(i), 7, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.strokeStyle = INK;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(...at(i), 9, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
}
