// Times an analysis in the browser through the same client and worker as the page
// (client.js → worker.js → pkg/), on files fetched from this origin: graph convexity, or with
// `analysis=memorization` the full memorization report of `convexlens-bench memorization`
// (same options). Used by bench/page.mjs; the result is left in window.benchResult and
// body[data-bench].
import { Analyst } from './client.js';

const q = new URLSearchParams(location.search);
const out = document.getElementById('out');

async function main() {
  const memorization = q.get('analysis') === 'memorization';
  const urls = [q.get('emb'), q.get(memorization ? 'meta' : 'labels')];
  if (!urls[0] || !urls[1]) {
    out.textContent = 'Name the files in the address (see above).';
    return;
  }
  const analyst = new Analyst();
  const t0 = performance.now();
  const files = await Promise.all(urls.map(async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new File([await response.blob()], url.split('/').pop());
  }));
  const t1 = performance.now();
  // Includes the worker's start and the wasm module's compilation.
  const { errors } = await analyst.addFiles(files);
  if (errors.length) throw new Error(errors.map((e) => `${e.file}: ${e.message}`).join('; '));
  const t2 = performance.now();
  const embeddings = { file: files[0].name, field: null };
  const column = (field) => ({ file: files[1].name, field });
  const once = () => (memorization
    ? analyst.run('memorization', {
      embeddings, labels: column('label'), attr: column('attr'), split: column('split'),
      // As the native benchmark: every stage with its defaults, ridge alpha 1, no MLP head.
      options: { memorization: {}, ridge_alpha: 1.0, tracing: {}, mlp: null, consistency: {}, dfr: {} },
    })
    : analyst.run('graph', {
      embeddings,
      labels: { file: files[1].name, field: null },
      options: { k: Number(q.get('k') ?? 10), n_paths: Number(q.get('paths') ?? 5000), seed: 0, baseline: 0 },
      ...(q.has('graph') ? { graph: q.get('graph') } : {}),
    }, undefined, {
      ...(q.has('workers') ? { workers: Number(q.get('workers')) } : {}),
      ...(q.has('poolMinRows') ? { poolMinRows: Number(q.get('poolMinRows')) } : {}),
    }));
  // `runs=N` repeats the analysis in the same page: the first run meets code that V8 has
  // only baseline-compiled (and a pool of fresh workers); later runs show the optimised code.
  // `pause=MS` waits before the first run, as a person choosing files and settings would.
  await new Promise((resolve) => setTimeout(resolve, Number(q.get('pause') ?? 0)));
  const runMs = [];
  let result;
  for (let r = 0; r < Math.max(1, Number(q.get('runs') ?? 1)); r++) {
    const start = performance.now();
    result = await once();
    runMs.push(performance.now() - start);
  }
  window.benchResult = { fetch_ms: t1 - t0, add_ms: t2 - t1, run_ms: runMs[0], later_runs_ms: runMs.slice(1), result };
  const what = memorization
    ? `Memorization report (worst-group test accuracy ${result.worst_group_test_acc.toFixed(3)})`
    : `Graph convexity ${result.score.toFixed(2)}`;
  out.textContent = `${what}: ${runMs.map((ms) => ms.toFixed(0)).join(', ')} ms (reading the files: ${(t2 - t1).toFixed(0)} ms).`;
  document.body.dataset.bench = 'done';
}

main().catch((error) => {
  window.benchError = error?.message ?? String(error);
  out.textContent = `Failed: ${window.benchError}`;
  document.body.dataset.bench = 'error';
});
