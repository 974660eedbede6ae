// End-to-end tests of the page (index.html + www/) in Debian's Chromium. Run: node --test tests/e2e/
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  artifacts, finished, inkOf, launch, native, npy, open, root, run, shot, startServer, tmp, write,
} from './support.mjs';

let server;
let browser;

// Fixtures written at test time: the demo's fine-tuned layer 2 with a metadata table.
const labels = readFileSync(join(root, 'www/demo/metadata.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
const emb = join(tmp, 'embeddings.npy');
copyFileSync(join(root, 'www/demo/finetuned_layer2.npy'), emb);
const meta = write('meta.tsv', `label\tsplit\tparity\n${labels.map((l, i) => `${l}\t${i % 4 === 0 ? 'test' : 'train'}\t${Number(l) % 2 ? 'odd' : 'even'}`).join('\n')}\n`);

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('a. the digits example loads and shows its results without a click', async () => {
  const { context, page, log } = await open(browser, `${server.origin}/`);
  assert.equal(await finished(page), 'done');
  await shot(page, 'demo-first-screen', false);
  await shot(page, 'demo');

  // Overall scores, with their meaning in words and the chance level.
  assert.match(await page.textContent('#graph-score'), /^\d+\.\d$/);
  assert.match(await page.textContent('#euclid-score'), /^\d+\.\d$/);
  assert.match(await page.textContent('#graph-words'), /shortest paths .* 10-nearest-neighbour graph/);
  assert.match(await page.textContent('#graph-chance'), /Chance level with shuffled labels: .*not in the paper/);
  assert.match(await page.textContent('#euclid-accuracy'), /The head classifies 98\.0%/);

  // The layer chart is drawn, with its sentence and its table (4 layers).
  assert.ok(await page.isVisible('#layers-chart'));
  assert.ok(await inkOf(page, '#layers-chart') > 2000, 'the layer chart has lines on it');
  assert.match(await page.textContent('#finding'), /pretrained .* largely convex.*fine-tuned raises convexity in every layer, most in the last layers/);
  assert.equal(await page.locator('#layers-table tbody tr').count(), 4);

  // Per class: 10 digits in the table and the chart; the scatter is drawn.
  assert.equal(await page.locator('#classes-table tbody tr').count(), 10);
  assert.ok(await inkOf(page, '#classes-chart') > 2000);
  assert.ok(await inkOf(page, '#scatter') > 2000);
  assert.equal(await page.locator('#legend li').count(), 10);

  // The table sorts by keyboard: Enter on the "Graph convexity" header, twice.
  const header = page.locator('#classes-table thead th', { hasText: 'Graph convexity' });
  await header.locator('button').focus();
  await page.keyboard.press('Enter');
  assert.equal(await header.getAttribute('aria-sort'), 'descending');
  const scores = await page.$$eval('#classes-table tbody tr td:nth-child(3)', (cells) => cells.map((c) => Number(c.textContent)));
  assert.deepEqual(scores, [...scores].sort((x, y) => y - x));
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#classes-table thead th', { hasText: 'Graph convexity' }).getAttribute('aria-sort'), 'ascending');

  // The shortest graph path between two rows of the same class.
  const other = labels.indexOf(labels[0], 1);
  await page.fill('#path-a', '0');
  await page.fill('#path-b', String(other));
  await page.click('#path-go');
  await page.waitForFunction(() => /Shortest path from row/.test(document.getElementById('path-info').textContent));
  assert.match(await page.textContent('#path-info'), new RegExp(`Shortest path from row 0 to row ${other} \\(class ${labels[0]}\\): .*\\(\\d+%\\) in class ${labels[0]}|direct neighbours`));
  await page.locator('#scatter-section').screenshot({ path: join(artifacts, 'demo-path.png') });

  // Exports are made in the tab: the JSON holds the envelopes, the CSV one row per class.
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  assert.equal(json.suggestedFilename(), 'convexlens-digits.json');
  const saved = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.equal(saved.graph_convexity.score, Number(await page.getAttribute('#graph-score', 'data-value')));
  assert.equal(saved.layer_sweep.length, 2);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const rows = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.equal(rows.length, 11);
  assert.match(rows[0], /^label,n,graph_pairs,graph_convexity,graph_sem,graph_chance_expected,/);

  assert.deepEqual(log.errors, []);
  await context.close();
});

test('b. uploaded .npy + metadata table give the native command line\'s scores', async () => {
  const { context, page, log } = await open(browser, `${server.origin}/#demo=none`);
  await page.setInputFiles('#file-input', [emb, meta]);
  await page.waitForFunction(() => document.querySelectorAll('#files li').length === 2);
  const listed = await page.textContent('#files');
  assert.match(listed, /embeddings\.npy.*NPY.*matrix 600 × 48/s);
  assert.match(listed, /meta\.tsv.*TSV.*label \(600, int64\), split \(600, text\), parity \(600, text\)/s);
  // Guessed: the matrix with as many rows as the label column; the column named "label".
  assert.equal(await page.inputValue('#embeddings'), JSON.stringify(['embeddings.npy', null]));
  assert.equal(await page.inputValue('#labels-column'), JSON.stringify(['meta.tsv', 'label']));

  await page.selectOption('#labels-column', JSON.stringify(['meta.tsv', 'parity']));
  await page.check('#source-probe');
  await page.selectOption('#split-file', 'meta.tsv');
  await page.selectOption('#split-column', JSON.stringify(['meta.tsv', 'split']));
  assert.equal(await run(page), 'done');
  await shot(page, 'uploaded');

  const graph = native(['graph', 'embeddings.npy', '--labels', 'meta.tsv:parity']);
  const shown = Number(await page.getAttribute('#graph-score', 'data-value'));
  assert.ok(Math.abs(shown - graph.score) < 1e-9, `page ${shown} vs native ${graph.score}`);
  assert.equal(await page.textContent('#graph-score'), graph.score.toFixed(1));

  const euclid = native(['euclidean', 'embeddings.npy', '--labels', 'meta.tsv:parity', '--probe', '--split', 'meta.tsv:split']);
  const shownE = Number(await page.getAttribute('#euclid-score', 'data-value'));
  assert.ok(Math.abs(shownE - euclid.score) < 1e-9, `page ${shownE} vs native ${euclid.score}`);
  assert.match(await page.textContent('#euclid-accuracy'), /fitted on 450 train rows, scored on 150 test rows/);
  assert.equal(await page.locator('#classes-table tbody tr').count(), 2);

  assert.deepEqual(log.errors, []);
  await context.close();
});

test('c. Cancel stops a long run within a second, and Run works again', async () => {
  // 6000 random rows of 256 dimensions in 10 classes: several seconds of graph convexity.
  let seed = 7;
  const random = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const big = write('big.npy', npy([6000, 256], Float32Array.from({ length: 6000 * 256 }, () => 2 * random() - 1), '<f4'));
  const bigLabels = write('big_labels.npy', npy([6000], BigInt64Array.from({ length: 6000 }, (_, i) => BigInt(i % 10)), '<i8'));

  const { context, page, log } = await open(browser, `${server.origin}/#demo=none`);
  await page.setInputFiles('#file-input', [big, bigLabels]);
  await page.waitForFunction(() => document.querySelectorAll('#files li').length === 2);
  await page.uncheck('#euclid-on');
  await page.click('#run');
  await page.waitForFunction(() => /shortest paths/.test(document.getElementById('progress-text').textContent), null, { timeout: 30000 });

  const elapsed = await page.evaluate(() => new Promise((resolve) => {
    const start = performance.now();
    document.getElementById('cancel').click();
    const check = () => (/Cancelled/.test(document.getElementById('status').textContent)
      ? resolve(performance.now() - start) : requestAnimationFrame(check));
    check();
  }));
  assert.ok(elapsed < 1000, `the page said "cancelled" after ${elapsed} ms`);
  assert.equal(await page.getAttribute('body', 'data-run'), 'cancelled');
  const frozen = await page.$eval('#progress', (p) => p.value);
  await page.waitForTimeout(800);
  assert.equal(await page.$eval('#progress', (p) => p.value), frozen, 'the progress bar stopped');
  assert.match(await page.textContent('#progress-text'), /Cancelled at \d+%/);
  await shot(page, 'cancelled');

  // Run again on a small input: the fresh worker has the files again.
  await page.setInputFiles('#file-input', [emb, meta]);
  await page.waitForFunction(() => document.querySelectorAll('#files li').length === 4);
  await page.selectOption('#labels-file', 'meta.tsv');
  await page.selectOption('#labels-column', JSON.stringify(['meta.tsv', 'label']));
  await page.selectOption('#embeddings', JSON.stringify(['embeddings.npy', null]));
  const started = Date.now();
  assert.equal(await run(page, 30000), 'done');
  assert.ok(Date.now() - started < 15000);
  assert.match(await page.textContent('#graph-score'), /^\d+\.\d$/);

  assert.deepEqual(log.errors, []);
  await context.close();
});

test('d. malformed files get readable errors naming them, and the page stays usable', async () => {
  const truncated = write('truncated.npy', readFileSync(emb).subarray(0, 5000));
  const notes = write('notes.txt', 'Meeting notes\nthe embeddings, labels, and heads\nare on the shared drive\n');
  const short = write('short_labels.npy', npy([100], BigInt64Array.from({ length: 100 }, (_, i) => BigInt(i % 3)), '<i8'));

  const { context, page, log } = await open(browser, `${server.origin}/#demo=none`);
  await page.setInputFiles('#file-input', [truncated, notes]);
  await page.waitForFunction(() => document.querySelectorAll('#file-errors .error').length === 2);
  const errors = await page.textContent('#file-errors');
  assert.match(errors, /truncated\.npy could not be read\. Truncated: the header says 600x48 float32 \(115200 bytes\) but only \d+ bytes follow\./);
  assert.match(errors, /notes\.txt could not be read\. Line 2 has 3 fields, expected 1\./);
  assert.equal(await page.getAttribute('#file-errors', 'role'), 'alert');
  await shot(page, 'error');

  // Dropped files take the same way as chosen ones.
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(['# Notes\n'], 'dropped.md'));
    document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => /dropped\.md could not be read\. Unknown file format/.test(document.getElementById('file-errors').textContent));

  // Good files load beside them; labels with the wrong number of rows fail at Run, readably.
  await page.setInputFiles('#file-input', [emb, meta, short]);
  await page.waitForFunction(() => document.querySelectorAll('#files li').length === 3);
  await page.selectOption('#labels-file', 'short_labels.npy');
  assert.match(await page.textContent('#inputs-check'), /600 rows but the labels 100/);
  assert.equal(await run(page), 'error');
  assert.match(await page.textContent('#run-errors'), /The analysis stopped: .*short_labels\.npy.*100/);
  await shot(page, 'run-error');

  await page.selectOption('#labels-file', 'meta.tsv');
  await page.uncheck('#euclid-on');
  assert.equal(await run(page), 'done');
  assert.match(await page.textContent('#graph-score'), /^\d+\.\d$/);
  assert.equal(await page.textContent('#run-errors'), '');

  assert.deepEqual(log.errors, []);
  await context.close();
});

test('e. nothing is requested while files are read and analysed; only this origin ever', async () => {
  const { context, page, log } = await open(browser, `${server.origin}/`);
  assert.equal(await finished(page), 'done');
  const loaded = log.requests.length;

  await page.setInputFiles('#file-input', [emb, meta]);
  await page.waitForFunction(() => document.querySelectorAll('#files li').length === 2);
  await page.selectOption('#labels-column', JSON.stringify(['meta.tsv', 'parity']));
  assert.equal(await run(page), 'done');
  await page.fill('#path-a', '0');
  await page.fill('#path-b', '2');
  await page.click('#path-go');
  await page.waitForFunction(() => /Shortest path/.test(document.getElementById('path-info').textContent));

  assert.deepEqual(log.requests.slice(loaded), [], 'no request during upload and analysis');
  const foreign = log.requests.filter((url) => !url.startsWith(`${server.origin}/`));
  assert.deepEqual(foreign, [], 'every request went to the page\'s own origin');
  // The recorder does see the worker's own requests (its script and the wasm it fetches).
  assert.ok(log.requests.some((url) => url.endsWith('/www/worker.js')));
  assert.ok(log.requests.some((url) => url.endsWith('/pkg/convexlens_bg.wasm')));

  assert.deepEqual(log.errors, []);
  await context.close();
});

test('f. the URL hash carries the settings; ?embed=1 gives the compact layout', async () => {
  const { context, page, log } = await open(browser, `${server.origin}/#demo=digits&k=5&paths=5000&seed=0&baseline=5&points=10`);
  assert.equal(await finished(page), 'done');
  assert.equal(await page.inputValue('#k'), '5');
  assert.equal(await page.getAttribute('#graph-score', 'data-k'), '5');
  assert.match(await page.textContent('#params-line'), /k = 5 neighbours/);
  assert.match(await page.textContent('#graph-words'), /5-nearest-neighbour graph/);
  await page.fill('#k', '7');
  assert.match(await page.evaluate(() => location.hash), /^#demo=digits&k=7&/);
  assert.deepEqual(log.errors, []);
  await context.close();

  const embedded = await open(browser, `${server.origin}/?embed=1#demo=digits&k=5`, { width: 720, height: 900 });
  assert.equal(await finished(embedded.page), 'done');
  assert.equal(await embedded.page.isVisible('#intro'), false);
  const resultsTop = (await embedded.page.locator('#results').boundingBox()).y;
  const dataTop = (await embedded.page.locator('#data').boundingBox()).y;
  assert.ok(resultsTop < dataTop, 'results come first');
  assert.equal(await embedded.page.getAttribute('#graph-score', 'data-k'), '5');
  await shot(embedded.page, 'embed', false);
  assert.deepEqual(embedded.log.errors, []);
  await embedded.context.close();
});

test('g. a pooled run equals the command line bit for bit; the approximate graph shows its recall', async () => {
  // 4,000 rows (above the pool's threshold) in 8 overlapping clusters of 32 dimensions.
  let seed = 11;
  const random = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const rows = 4000;
  const data = Float32Array.from({ length: rows * 32 }, (_, t) => (Math.floor(t / 32) % 8 === t % 8 ? 0.3 : 0) + random());
  const pooledEmb = write('pooled.npy', npy([rows, 32], data, '<f4'));
  const pooledLabels = write('pooled_labels.npy', npy([rows], BigInt64Array.from({ length: rows }, (_, i) => BigInt(i % 8)), '<i8'));

  const { context, page, log } = await open(browser, `${server.origin}/#demo=none&baseline=0&euclid=0`);
  await page.setInputFiles('#file-input', [pooledEmb, pooledLabels]);
  await page.waitForFunction(() => document.querySelectorAll('#files li').length === 2);
  assert.equal(await run(page, 120000), 'done');
  const exact = native(['graph', 'pooled.npy', '--labels', 'pooled_labels.npy', '--baseline', '0', '--graph', 'exact']);
  assert.ok(exact.score > 30 && exact.score < 90, `overlapping classes: ${exact.score}`);
  assert.equal(Number(await page.getAttribute('#graph-score', 'data-value')), exact.score, 'pooled page and native CLI');
  // The digests the worker takes from WebCrypto are the command line's (and node's own).
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
  assert.deepEqual(saved.graph_convexity.inputs.map((i) => i.sha256), [sha256(pooledEmb), sha256(pooledLabels)]);
  assert.deepEqual(exact.inputs.map((i) => i.sha256), [sha256(pooledEmb), sha256(pooledLabels)]);
  const workers = await page.evaluate(() => navigator.hardwareConcurrency);
  const words = await page.textContent('#graph-neighbours');
  assert.match(words, /Neighbour graph: exact \(chosen automatically: at most 20,000 items\)/);
  if (workers > 1) assert.match(words, new RegExp(`Computed by ${Math.min(workers, 8)} workers in parallel`));

  await page.selectOption('#graph-kind', 'approximate');
  assert.match(await page.evaluate(() => location.hash), /&graph=approximate/);
  assert.equal(await run(page, 120000), 'done');
  const approximate = native(['graph', 'pooled.npy', '--labels', 'pooled_labels.npy', '--baseline', '0', '--graph', 'approximate']);
  assert.equal(Number(await page.getAttribute('#graph-score', 'data-value')), approximate.score);
  const recall = approximate.neighbour_graph.recall.recall;
  assert.ok(recall > 0.9 && recall <= 1, `recall ${recall}`);
  assert.match(await page.textContent('#graph-neighbours'), new RegExp(`approximate \\(NN-descent\\)\\. Measured recall@10: ${recall.toFixed(3)}`));
  assert.match(await page.textContent('#warnings'), /approximate \(NN-descent\): estimated recall@10/);
  await shot(page, 'approximate-graph');
  assert.deepEqual(log.errors, []);
  await context.close();
});
