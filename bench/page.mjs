// Times graph convexity in headless Chromium (Debian's /usr/bin/chromium) and prints JSON.
//   node page.mjs bench DIR [paths] [k] [EXTRA]  www/bench.html: the page's worker on files fetched from this origin
//   node page.mjs index DIR [paths] [k]  index.html as a person uses it: upload, Euclidean off, Run, export JSON
//   node page.mjs memorization DIR       www/bench.html: the full memorization report on DIR/embeddings.npy
//                                        and DIR/metadata.tsv (convexlens-bench memorization --write DIR)
//   node page.mjs approximate DIR        www/bench.html: graph convexity on the approximate (NN-descent) graph
//   node page.mjs kernel                 www/bench-kernel.html?graph=0: the distance kernel's GFLOP/s, SIMD and plain
// DIR holds embeddings.npy and labels.npy under bench/data/. Each call starts its own static
// server and a fresh browser, so the renderer's peak memory belongs to this run alone.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

// EXTRA: more of bench.html's query, e.g. '&poolMinRows=0' or '&workers=1'.
const [mode, dir, paths = '5000', k = '10', extra = ''] = process.argv.slice(2);
const root = fileURLToPath(new URL('../', import.meta.url));
const TIMEOUT = 15 * 60 * 1000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', root], { stdio: 'ignore' });
  process.once('exit', () => child.kill());
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${origin}/index.html`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { origin, stop: () => child.kill() };
}

// Chromium runs the page and its dedicated workers in one renderer process; its VmHWM (peak
// resident memory) covers the worker's wasm memory, which no JS API of the page can see.
function rendererPeakKb() {
  const parent = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const ours = (pid) => {
    for (let p = pid; p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  let peak = 0;
  for (const pid of parent.keys()) {
    if (pid === process.pid || !ours(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch { /* gone */ }
  }
  return peak;
}

async function benchPage(page, origin) {
  const rel = relative(root, dir).split('\\').join('/');
  const url = mode === 'memorization'
    ? `${origin}/www/bench.html?analysis=memorization&emb=../${rel}/embeddings.npy&meta=../${rel}/metadata.tsv`
    : `${origin}/www/bench.html?emb=../${rel}/embeddings.npy&labels=../${rel}/labels.npy&paths=${paths}&k=${k}`
      + (mode === 'approximate' ? '&graph=approximate' : '') + extra;
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.bench, null, { timeout: TIMEOUT, polling: 50 });
  const error = await page.evaluate(() => window.benchError);
  if (error) throw new Error(error);
  return page.evaluate(() => window.benchResult);
}

async function kernelPage(page, origin) {
  await page.goto(`${origin}/www/bench-kernel.html?graph=0`);
  await page.waitForFunction(() => document.body.dataset.results, null, { timeout: TIMEOUT, polling: 100 });
  const results = JSON.parse(await page.evaluate(() => document.body.dataset.results));
  if (results.error) throw new Error(results.error);
  return results;
}

async function indexPage(page, origin) {
  // Euclidean convexity off and no chance permutations, so the run is graph convexity (plus
  // the page's PCA scatter and drawing, which a person always gets).
  await page.goto(`${origin}/index.html#demo=none&k=${k}&paths=${paths}&seed=0&baseline=0&euclid=0`);
  await page.waitForLoadState('load');
  // Times taken in the page: click (capture phase, before the page's handler) to the page
  // marking the run finished.
  await page.evaluate(() => {
    window.benchT = {};
    document.getElementById('run').addEventListener('click', () => { window.benchT.click = performance.now(); }, { capture: true });
    new MutationObserver(() => {
      window.benchT.done = performance.now();
    }).observe(document.body, { attributes: true, attributeFilter: ['data-finished'] });
    // When the page announces its step after graph convexity (the PCA scatter), to split the
    // time; depends on the page's wording, so it may stay unset.
    new MutationObserver(() => {
      if (window.benchT.click && !window.benchT.projection && /Projection/.test(document.getElementById('status').textContent)) {
        window.benchT.projection = performance.now();
      }
    }).observe(document.getElementById('status'), { childList: true, characterData: true, subtree: true });
  });
  const t0 = Date.now();
  await page.setInputFiles('#file-input', [join(dir, 'embeddings.npy'), join(dir, 'labels.npy')]);
  await page.waitForFunction(() => document.querySelectorAll('#files li').length === 2, null, { timeout: TIMEOUT, polling: 20 });
  const addMs = Date.now() - t0;
  // The page guesses these; set them anyway so a change of the guess cannot change the run.
  await page.selectOption('#embeddings', JSON.stringify(['embeddings.npy', null]));
  await page.selectOption('#labels-file', 'labels.npy');
  // A plain array file has one "column", so that picker is disabled: check what it holds.
  const column = await page.inputValue('#labels-column');
  if (column !== JSON.stringify(['labels.npy', null])) throw new Error(`labels picker holds ${column}`);
  const before = await page.evaluate(() => Number(document.body.dataset.finished ?? 0));
  await page.click('#run');
  await page.waitForFunction((n) => Number(document.body.dataset.finished ?? 0) > n, before, { timeout: TIMEOUT, polling: 50 });
  const how = await page.evaluate(() => document.body.dataset.run);
  if (how !== 'done') throw new Error(`the run ended as '${how}': ${await page.textContent('#run-errors')}`);
  const t = await page.evaluate(() => window.benchT);
  const status = await page.textContent('#status');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  const graphMs = t.projection ? t.projection - t.click : null;
  return { add_ms: addMs, run_ms: t.done - t.click, graph_step_ms: graphMs, status, result: saved.graph_convexity };
}

const server = await startServer();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let code = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const out = await ({ index: indexPage, kernel: kernelPage }[mode] ?? benchPage)(page, server.origin);
  out.renderer_peak_kb = rendererPeakKb();
  out.console_errors = errors;
  process.stdout.write(JSON.stringify(out));
} catch (error) {
  process.stderr.write(`page.mjs ${mode}: ${error.stack ?? error}\n`);
  code = 1;
} finally {
  await browser.close();
  server.stop();
}
process.exit(code);
