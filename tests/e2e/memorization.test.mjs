// End-to-end tests of the memorization view (SPEC §4) in Debian's Chromium. Run: node --test tests/e2e/
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { artifacts, inkOf, launch, native, open, root, shot, startServer, tmp, write } from './support.mjs';

let server;
let browser;

// The example's files, under the names the page gives them, so the inputs recorded by the
// command line and by the page are the same.
const DEMO_FILES = ['embeddings.npy', 'metadata.tsv', 'head_W.npy', 'head_b.npy'];
for (const name of DEMO_FILES) copyFileSync(join(root, 'www/demo/spurious', name), join(tmp, name));
const files = (...names) => names.map((n) => join(tmp, n));

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const view = '#view-memorization';
const memFinished = (page) => page.evaluate(() => Number(document.getElementById('view-memorization').dataset.finished ?? 0));

/** Waits until the memorization view reports `count` finished runs; returns how the last ended. */
async function memDone(page, count = 1, timeout = 90000) {
  await page.waitForFunction((n) => Number(document.getElementById('view-memorization').dataset.finished ?? 0) >= n, count, { timeout });
  return page.getAttribute(view, 'data-run');
}

async function memRun(page, timeout = 90000) {
  const before = await memFinished(page);
  await page.click('#mem-run');
  return memDone(page, before + 1, timeout);
}

/** Every request must be for one of the page's own static files: this origin, a file in the repository. */
function assertOwnStaticFiles(log) {
  const foreign = log.requests.filter((url) => {
    if (!url.startsWith(`${server.origin}/`)) return true;
    const { pathname } = new URL(url);
    const path = join(root, decodeURIComponent(pathname === '/' ? '/index.html' : pathname));
    return !path.startsWith(root) || !existsSync(path) || !statSync(path).isFile();
  });
  assert.deepEqual(foreign, [], 'only the page\'s own static files are requested');
}

/** The numbers of the group table, as the page holds them (data-value of each cell). */
function groupTable(page) {
  return page.$$eval('#mem-groups-table tbody tr', (rows) => rows.map((tr) => {
    const out = { group: tr.dataset.group, minority: tr.dataset.minority === 'true', tag: Boolean(tr.querySelector('.minority-tag')) };
    for (const td of tr.querySelectorAll('td[data-key]')) out[td.dataset.key] = Number(td.dataset.value);
    out.text = [...tr.querySelectorAll('td')].map((td) => td.textContent);
    return out;
  }));
}

const pct = (v) => `${(100 * v).toFixed(1)}%`;

test('m1. the spurious-patch example shows 4 groups, the minority ones marked, with the command line\'s numbers', async (t) => {
  const opened = Date.now();
  const { context, page, log } = await open(browser, `${server.origin}/#view=memorization`);
  assert.equal(await memDone(page), 'done');
  const wall = (Date.now() - opened) / 1000;
  const status = await page.textContent('#mem-status');
  const seconds = Number(/Computed in this tab in ([\d.]+) s/.exec(status)?.[1]);
  t.diagnostic(`example with the default options: ${seconds} s computing in the tab, ${wall.toFixed(1)} s from opening the page`);
  assert.ok(seconds < 30, `the default run took ${seconds} s`);
  await shot(page, 'memorization-first-screen', false);
  await shot(page, 'memorization-demo');
  for (const id of ['mem-groups-section', 'mem-hist-section', 'mem-tracing-section', 'mem-mitigation-section']) {
    await page.locator(`#${id}`).screenshot({ path: join(artifacts, `memorization-${id.slice(4, -8)}.png`) });
  }

  // The view is the selected tab, the other one is hidden, and the link says so.
  assert.equal(await page.getAttribute('#tab-memorization', 'aria-selected'), 'true');
  assert.equal(await page.isVisible('#view-convexity'), false);
  assert.equal(await page.evaluate(() => location.hash),
    '#view=memorization&demo=spurious&models=100&fraction=0.7&seed=0&alpha=1&trace=1&mlp=0&mitigate=1&ablation=zero&head=own');
  // Opening this view does not run the convexity example.
  assert.equal(await page.getAttribute('body', 'data-finished'), null);

  const cli = native(['memorization', 'embeddings.npy', '--labels', 'metadata.tsv:label', '--attr', 'metadata.tsv:attr',
    '--split', 'metadata.tsv:split', '--ids', 'metadata.tsv:index', '--head-w', 'head_W.npy', '--head-b', 'head_b.npy',
    '--models', '100', '--seed', '0', '--ridge-alpha', '1', '--trace', '--mitigate']);

  // Four groups; the two with 30 training rows each are the minority, marked in words.
  const groups = await groupTable(page);
  assert.equal(groups.length, 4);
  assert.deepEqual(groups.filter((g) => g.minority).map((g) => g.group), ['y=0, a=1', 'y=1, a=0']);
  assert.ok(groups.every((g) => g.tag === g.minority), 'minority rows carry the "minority" tag');
  groups.forEach((g, i) => {
    const c = cli.groups[i];
    assert.equal(g.group, c.group);
    assert.equal(g.minority, c.minority);
    for (const k of ['n_train', 'n_test', 'train_acc', 'test_acc', 'gap']) assert.equal(g[k], c[k], `${g.group} ${k}`);
    assert.equal(g.memorization, c.memorization.mean, `${g.group} memorization`);
    assert.equal(g.ridge, c.ridge_memorization.mean, `${g.group} ridge`);
    assert.ok(g.text[3].startsWith(pct(c.test_acc)), `${g.text[3]} shows ${pct(c.test_acc)}`);
    assert.ok(g.text[5].startsWith(`${c.memorization.mean.toFixed(2)} ± ${c.memorization.sem.toFixed(2)}`), g.text[5]);
  });
  assert.equal(Number(await page.getAttribute('#mem-worst', 'data-value')), cli.worst_group_test_acc);
  assert.equal(Number(await page.getAttribute('#mem-average', 'data-value')), cli.average_test_acc);
  assert.equal(await page.textContent('#mem-worst'), pct(cli.worst_group_test_acc));
  assert.match(await page.textContent('#mem-worst-words'), /“y=0, a=1” \(a minority group\).*Guessing would get 50%/);
  assert.match(await page.textContent('#mem-finding'), /^Signs of memorization: the minority groups “y=0, a=1” and “y=1, a=0”/);

  // Memorization scores: a histogram panel per group, the most memorized rows with their ids.
  assert.ok(await inkOf(page, '#mem-hist') > 3000);
  const top = await page.$$eval('#mem-top-table tbody tr', (rows) => rows.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.equal(top.length, cli.memorization.top.length);
  const minority = new Set(cli.groups.filter((g) => g.minority).map((g) => g.group));
  top.forEach((cells, i) => {
    const c = cli.memorization.top[i];
    assert.deepEqual(cells.slice(0, 5), [String(i + 1), String(c.row), c.id, `${c.group}${minority.has(c.group) ? 'minority' : ''}`, c.score.toFixed(2)]);
  });
  assert.deepEqual(await page.$$eval('#mem-top-table thead th', (h) => h.map((x) => x.textContent).slice(5)), ['label', 'attr', 'group', 'split']);
  await page.check('input[name="mem-method"][value="ridge"]');
  assert.equal(await page.textContent('#mem-top-table tbody tr:first-child th'), String(cli.ridge.top[0].row));

  // Tracing: two charts drawn, words per group, numbers equal to the command line's curve.
  assert.ok(await inkOf(page, '#mem-trace-train') > 3000);
  assert.ok(await inkOf(page, '#mem-trace-test') > 3000);
  assert.equal(await page.locator('#mem-tracing-words li').count(), 4);
  const curve = cli.tracing.curves[0];
  const traced = await page.$$eval('#mem-trace-table tbody tr', (rows) => rows.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.equal(traced.length, curve.ablated.length);
  traced.forEach((cells, j) => {
    assert.equal(cells[0], String(curve.ablated[j]));
    curve.points[j].train.forEach((v, i) => assert.equal(cells[1 + 2 * i], pct(v)));
  });
  await page.selectOption('#mem-ranking', '1');
  assert.match(await page.textContent('#mem-tracing-words'), /ranked by gradient norm on the hardest rows of y=0, a=1/);

  // Mitigation: before and after, both methods, as the command line has them.
  assert.ok(await inkOf(page, '#mem-mitigation-chart') > 2000);
  const cell = (method, measure) => page.getAttribute(`#mem-mitigation-table td[data-method="${method}"][data-measure="${measure}"]`, 'data-value').then(Number);
  assert.equal(await cell('before', 'worst_test'), cli.mitigation[0].before.worst_group_test);
  assert.equal(await cell('consistency', 'worst_test'), cli.mitigation[0].after.worst_group_test);
  assert.equal(await cell('dfr', 'worst_test'), cli.mitigation[1].after.worst_group_test);
  assert.equal(await cell('dfr', 'average_test'), cli.mitigation[1].after.average_test);

  // Exports: the JSON is the command line's result (but for timings), the CSV has a row per group.
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#mem-export-json')]);
  assert.equal(json.suggestedFilename(), 'convexlens-memorization-spurious.json');
  const saved = JSON.parse(readFileSync(await json.path(), 'utf8'));
  delete saved.timings_ms;
  delete cli.timings_ms;
  assert.deepEqual(saved, cli);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#mem-export-csv')]);
  const lines = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0], /^group,label,attr,minority,n_train,n_test,train_acc,test_acc,gap,memorization_n,memorization_mean,memorization_sem,/);
  assert.match(lines[2], /^"y=0, a=1",0,1,true,30,149,1,0\.55033/);
  const [rowsCsv] = await Promise.all([page.waitForEvent('download'), page.click('#mem-export-rows')]);
  const rowLines = readFileSync(await rowsCsv.path(), 'utf8').trim().split('\n');
  assert.equal(rowLines[0], 'row,id,memorization,ridge_leave_one_out');
  assert.equal(rowLines.length, 1 + 1200);

  assert.deepEqual(log.errors, []);
  assertOwnStaticFiles(log);
  await context.close();
});

test('m2. the tabs work from the keyboard and follow the URL hash; a link reproduces its settings', async () => {
  const { context, page, log } = await open(browser, `${server.origin}/`);
  await page.waitForFunction(() => document.body.dataset.run === 'done', null, { timeout: 60000 });
  assert.equal(await page.getAttribute('#tab-convexity', 'aria-selected'), 'true');
  assert.equal(await page.getAttribute('#tab-memorization', 'tabindex'), '-1');

  await page.focus('#tab-convexity');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-memorization');
  assert.equal(await page.getAttribute('#tab-memorization', 'aria-selected'), 'true');
  assert.ok(await page.isVisible('#view-memorization'));
  assert.equal(await page.isVisible('#view-convexity'), false);
  assert.match(await page.evaluate(() => location.hash), /^#view=memorization&demo=spurious&models=100&/);
  assert.equal(await memDone(page), 'done');

  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.getAttribute('#tab-convexity', 'aria-selected'), 'true');
  assert.match(await page.evaluate(() => location.hash), /^#demo=digits&k=10&/);
  assert.ok(await page.isVisible('#graph-score'));
  assert.ok(await inkOf(page, '#classes-chart') > 2000, 'the convexity charts are still drawn');
  await page.keyboard.press('End');
  assert.equal(await page.getAttribute('#tab-memorization', 'aria-selected'), 'true');
  assert.ok(await inkOf(page, '#mem-hist') > 3000, 'the memorization charts are drawn again');
  // A setting changed here shows in the link at once.
  await page.fill('#mem-models', '50');
  assert.match(await page.evaluate(() => location.hash), /&models=50&/);
  assert.deepEqual(log.errors, []);
  assertOwnStaticFiles(log);
  await context.close();

  // A link with other settings: a head fitted here, mean ablation, no ridge, no mitigation.
  // Opened on a narrow screen, for the layout.
  const link = '#view=memorization&demo=spurious&models=20&fraction=0.5&seed=3&alpha=&trace=1&mlp=0&mitigate=0&ablation=mean&head=fit';
  const narrow = await open(browser, `${server.origin}/${link}`, { width: 400, height: 860 });
  assert.equal(await memDone(narrow.page), 'done');
  assert.equal(await narrow.page.evaluate(() => location.hash), link);
  assert.equal(await narrow.page.inputValue('#mem-models'), '20');
  assert.ok(await narrow.page.isChecked('#mem-head-fit'));
  assert.equal(await narrow.page.isVisible('#mem-mitigation-section'), false);
  assert.match(await narrow.page.textContent('#mem-params'), /head: logistic regression \(C = 1\) fitted on the training rows · 20 heads refitted on 50% subsets, seed 3 · tracing by setting it to its training mean/);
  const cli = native(['memorization', 'embeddings.npy', '--labels', 'metadata.tsv:label', '--attr', 'metadata.tsv:attr',
    '--split', 'metadata.tsv:split', '--ids', 'metadata.tsv:index', '--models', '20', '--fraction', '0.5', '--seed', '3',
    '--trace', '--ablation', 'mean']);
  const groups = await groupTable(narrow.page);
  groups.forEach((g, i) => {
    for (const k of ['train_acc', 'test_acc', 'gap']) assert.equal(g[k], cli.groups[i][k], `${g.group} ${k}`);
    assert.equal(g.memorization, cli.groups[i].memorization.mean);
    assert.equal(g.ridge, undefined, 'no ridge column');
  });
  await shot(narrow.page, 'memorization-narrow-first-screen', false);
  await shot(narrow.page, 'memorization-narrow');
  assert.deepEqual(narrow.log.errors, []);
  assertOwnStaticFiles(narrow.log);
  await narrow.context.close();
});

test('m3. Cancel stops a memorization run within a second, and the next run works', async () => {
  // 3000 refits: far longer than the test waits.
  const { context, page, log } = await open(browser, `${server.origin}/#view=memorization&models=3000&mitigate=0`);
  await page.waitForFunction(() => /Refitting 3000 heads/.test(document.getElementById('mem-progress-text').textContent), null, { timeout: 60000 });
  await page.waitForFunction(() => document.getElementById('mem-progress').value > 0.01, null, { timeout: 60000 });
  assert.match(await page.textContent('#mem-progress-text'), /Refitting 3000 heads, each on 70% of the training rows \(step 1 of 4\) · \d+%/);
  const elapsed = await page.evaluate(() => new Promise((resolve) => {
    const start = performance.now();
    document.getElementById('mem-cancel').click();
    const check = () => (/Cancelled/.test(document.getElementById('mem-status').textContent)
      ? resolve(performance.now() - start) : requestAnimationFrame(check));
    check();
  }));
  assert.ok(elapsed < 1000, `the page said "cancelled" after ${elapsed} ms`);
  assert.equal(await page.getAttribute(view, 'data-run'), 'cancelled');
  const frozen = await page.$eval('#mem-progress', (p) => p.value);
  await page.waitForTimeout(800);
  assert.equal(await page.$eval('#mem-progress', (p) => p.value), frozen, 'the progress bar stopped');
  assert.match(await page.textContent('#mem-progress-text'), /Cancelled at \d+%/);
  assert.match(await page.textContent('#mem-empty'), /the run was cancelled/);
  assert.equal(await page.isEnabled('#mem-run'), true);
  await page.locator('#mem-results').screenshot({ path: join(artifacts, 'memorization-cancelled.png') });

  // The fresh worker has the files again: a short run now.
  await page.fill('#mem-models', '10');
  const started = Date.now();
  assert.equal(await memRun(page, 60000), 'done');
  assert.ok(Date.now() - started < 30000);
  assert.equal(await page.locator('#mem-groups-table tbody tr').count(), 4);
  assert.equal(await page.textContent('#mem-run-errors'), '');
  assert.deepEqual(log.errors, []);
  assertOwnStaticFiles(log);
  await context.close();
});

test('m4. malformed files and bad choices get readable errors, and the view stays usable', async () => {
  const truncated = write('truncated_embeddings.npy', readFileSync(join(tmp, 'embeddings.npy')).subarray(0, 4000));
  const notes = write('notes.txt', 'Meeting notes\nthe embeddings, labels, and heads\nare on the shared drive\n');
  const { context, page, log } = await open(browser, `${server.origin}/#view=memorization&demo=none`);
  assert.match(await page.textContent('#mem-empty'), /Add your files/);
  assert.equal(await page.isDisabled('#mem-run'), true);

  await page.setInputFiles('#mem-file-input', [truncated, notes]);
  await page.waitForFunction(() => document.querySelectorAll('#mem-file-errors .error').length === 2);
  const errors = await page.textContent('#mem-file-errors');
  assert.match(errors, /truncated_embeddings\.npy could not be read\. Truncated: the header says 1797x256 float16 \(\d+ bytes\) but only \d+ bytes follow\./);
  assert.match(errors, /notes\.txt could not be read\. Line 2 has 3 fields, expected 1\./);
  await shot(page, 'memorization-file-error', false);

  // Dropped files go to the view on show.
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(['# Notes\n'], 'dropped.md'));
    document.getElementById('mem-dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => /dropped\.md could not be read\. Unknown file format/.test(document.getElementById('mem-file-errors').textContent));
  assert.equal(await page.textContent('#file-errors'), '', 'the convexity view did not take the drop');

  // Good files beside them: the pickers guess each column by its name.
  await page.setInputFiles('#mem-file-input', files('embeddings.npy', 'metadata.tsv'));
  await page.waitForFunction(() => document.querySelectorAll('#mem-files li').length === 2);
  const source = (file, field = null) => JSON.stringify([file, field]);
  assert.equal(await page.inputValue('#mem-embeddings'), source('embeddings.npy'));
  assert.equal(await page.inputValue('#mem-labels'), source('metadata.tsv', 'label'));
  assert.equal(await page.inputValue('#mem-attr'), source('metadata.tsv', 'attr'));
  assert.equal(await page.inputValue('#mem-split'), source('metadata.tsv', 'split'));
  assert.equal(await page.inputValue('#mem-ids'), source('metadata.tsv', 'index'));
  assert.ok(await page.isChecked('#mem-head-fit'), 'no head files: a head is fitted here');
  assert.match(await page.textContent('#mem-inputs-check'), /1797 rows of 256 dimensions/);

  // A split column that is not train/test fails at Run, readably.
  await page.selectOption('#mem-split', source('metadata.tsv', 'group'));
  await page.fill('#mem-models', '10');
  await page.uncheck('#mem-mitigate');
  assert.equal(await memRun(page), 'error');
  assert.match(await page.textContent('#mem-run-errors'), /The analysis stopped: metadata\.tsv:group: row 0 has split value 'y0_a0'; use train\/test/);
  await shot(page, 'memorization-run-error', false);

  // Parameters out of range are refused before anything runs.
  await page.fill('#mem-fraction', '1.5');
  await page.click('#mem-run');
  assert.match(await page.textContent('#mem-params-error'), /strictly between 0 and 1/);
  assert.equal(await page.getAttribute('#mem-fraction', 'aria-invalid'), 'true');
  await page.fill('#mem-fraction', '0.7');

  await page.selectOption('#mem-split', source('metadata.tsv', 'split'));
  assert.equal(await memRun(page), 'done');
  assert.equal(await page.textContent('#mem-run-errors'), '');
  assert.equal(await page.locator('#mem-groups-table tbody tr').count(), 4);
  assert.equal(await page.locator('#mem-groups-table tbody tr.minority').count(), 2);
  assert.match(await page.textContent('#mem-results-title'), /Your results/);
  // User data never goes into the link.
  assert.doesNotMatch(await page.evaluate(() => location.hash), /metadata|embeddings|demo=spurious/);

  assert.deepEqual(log.errors, []);
  assertOwnStaticFiles(log);
  await context.close();
});
