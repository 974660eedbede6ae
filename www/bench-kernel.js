// The kernel and pool benchmark page (bench-kernel.html). Results go to <pre id="out"> and,
// for automation, to document.body.dataset.results as JSON once everything has run.
const params = new URLSearchParams(location.search);
const [kernelRows, kernelCols] = (params.get('kernel') ?? '4096x768').split('x').map(Number);
const graphRows = Number(params.get('graph') ?? 10000);
const repeat = Number(params.get('repeat') ?? 1);
const out = document.getElementById('out');
const results = { hardwareConcurrency: navigator.hardwareConcurrency, kernel: {}, graph: [] };
const say = (line) => { out.textContent = out.textContent === 'running…' ? line : `${out.textContent}\n${line}`; };

// Seeded normal values (LCG + Box–Muller), so every run sees the same data.
function gaussians(count, seed) {
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return values;
}

async function kernel(name, glue) {
  const wasm = await import(glue);
  await wasm.default();
  const data = gaussians(kernelRows * kernelCols, 1);
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    const flops = wasm.distance_kernel(data, kernelRows, kernelCols);
    best = Math.max(best, flops / (performance.now() - start) / 1e6);
  }
  results.kernel[name] = best;
  say(`distance kernel ${kernelRows} x ${kernelCols}, ${name}: ${best.toFixed(1)} GFLOP/s`);
}

/** Class centres plus noise of about three times their norm, as convexlens-bench makes. */
function clustered(rows, cols, classes) {
  const centres = gaussians(classes * cols, 2).map((v) => v / Math.sqrt(cols));
  const noise = gaussians(rows * cols, 3);
  const data = new Float32Array(rows * cols);
  const labels = new BigInt64Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = Math.floor((i * classes) / rows);
    labels[i] = BigInt(c);
    for (let j = 0; j < cols; j++) data[i * cols + j] = centres[c * cols + j] + (3 * noise[i * cols + j]) / Math.sqrt(cols);
  }
  return { data, labels };
}

function npy(shape, array, descr) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 255, header.length >> 8]);
  head.set(new TextEncoder().encode(header), 10);
  return new Blob([head, array]);
}

/** One graph run in a fresh analysis worker (worker.js, as the page uses it). */
function graphRun(files, workers) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    let started = 0;
    worker.onmessage = ({ data }) => {
      if (data.type === 'files') {
        started = performance.now();
        worker.postMessage({
          type: 'run', id: 2, analysis: 'graph', workers,
          request: { embeddings: { file: 'x.npy' }, labels: { file: 'y.npy' }, options: { k: 10, n_paths: 5000, seed: 0, baseline: 5 } },
        });
      } else if (data.type === 'result') {
        resolve({ seconds: (performance.now() - started) / 1000, result: data.result });
        worker.terminate();
      } else if (data.type === 'error') {
        reject(new Error(data.message));
        worker.terminate();
      }
    };
    worker.postMessage({ type: 'files', id: 1, files });
  });
}

async function graph() {
  const { data, labels } = clustered(graphRows, 768, 10);
  const files = [new File([npy([graphRows, 768], data, '<f4')], 'x.npy'), new File([npy([graphRows], labels, '<i8')], 'y.npy')];
  for (let r = 0; r < repeat; r++) {
    for (const workers of [1, undefined]) {
      const { seconds, result } = await graphRun(files, workers);
      const t = result.timings_ms;
      results.graph.push({ rows: graphRows, workers: result.workers, seconds, score: result.score, timings_ms: t });
      say(`graph convexity ${graphRows} x 768, ${result.workers} worker(s): ${seconds.toFixed(2)} s ` +
        `(read ${(t.read / 1000).toFixed(2)} s, neighbours ${(t.neighbours / 1000).toFixed(2)} s, ` +
        `paths and scores ${(t['paths and scores'] / 1000).toFixed(2)} s), score ${result.score}`);
    }
  }
}

try {
  await kernel('simd128', '../pkg/convexlens.js');
  await kernel('plain', '../pkg/plain/convexlens.js');
  if (graphRows > 0) await graph();
} catch (error) {
  say(`failed: ${error.message}`);
  results.error = error.message;
}
document.body.dataset.results = JSON.stringify(results);
