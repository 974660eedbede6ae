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
  const result = memorization
    ? await analyst.run('memorization', {
      embeddings, labels: column('label'), attr: column('attr'), split: column('split'),
      // As the native benchmark: every stage with its defaults, ridge alpha 1, no MLP head.
      options: { memorization: {}, ridge_alpha: 1.0, tracing: {}, mlp: null, consistency: {}, dfr: {} },
    })
    : await analyst.run('graph', {
      embeddings,
      labels: { file: files[1].name, field: null },
      options: { k: Number(q.get('k') ?? 10), n_paths: Number(q.get('paths') ?? 5000), seed: 0, baseline: 0 },
      ...(q.has('graph') ? { graph: q.get('graph') } : {}),
    });
  const t3 = performance.now();
  window.benchResult = { fetch_ms: t1 - t0, add_ms: t2 - t1, run_ms: t3 - t2, result };
  const what = memorization
    ? `Memorization report (worst-group test accuracy ${result.worst_group_test_acc.toFixed(3)})`
    : `Graph convexity ${result.score.toFixed(2)}`;
  out.textContent = `${what} in ${(t3 - t2).toFixed(0)} ms (reading the files: ${(t2 - t1).toFixed(0)} ms).`;
  document.body.dataset.bench = 'done';
}

main().catch((error) => {
  window.benchError = error?.message ?? String(error);
  out.textContent = `Failed: ${window.benchError}`;
  document.body.dataset.bench = 'error';
});
