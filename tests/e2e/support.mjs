// Shared pieces of the end-to-end tests: a static server for the repository root, Debian's
// Chromium through playwright-core, recorded console errors and requests, and .npy writing.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const artifacts = join(root, 'tests', 'artifacts');
export const cli = join(root, 'target', 'release', 'convexlens');
mkdirSync(artifacts, { recursive: true });

export const tmp = mkdtempSync(join(tmpdir(), 'convexlens-e2e-'));

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

/** python3 -m http.server on a free port, serving the repository root. */
export async function startServer() {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', root], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  // Also stopped if this process ends early (a failed hook, Ctrl-C).
  const stop = () => child.kill();
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { stop(); process.exit(130); });
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${origin}/index.html`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { origin, port, stop };
}

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh context and page that records console errors, page errors and every request. */
export async function open(browser, url, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const log = { errors: [], requests: [] };
  context.on('request', (request) => log.requests.push(request.url()));
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') log.errors.push(message.text());
  });
  page.on('pageerror', (error) => log.errors.push(error.message));
  await page.goto(url);
  return { context, page, log };
}

/** Waits until the page reports `count` finished runs (data-finished on <body>). */
export async function finished(page, count = 1, timeout = 60000) {
  await page.waitForFunction((n) => Number(document.body.dataset.finished ?? 0) >= n, count, { timeout });
  return page.evaluate(() => document.body.dataset.run);
}

export const finishedCount = (page) => page.evaluate(() => Number(document.body.dataset.finished ?? 0));

/** Clicks Run and waits for that run to end; returns how it ended (done, error, ...). */
export async function run(page, timeout = 60000) {
  const before = await finishedCount(page);
  await page.click('#run');
  return finished(page, before + 1, timeout);
}

/** Bytes of a version-1 .npy file. */
export function npy(shape, data, descr) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export function write(name, bytes) {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

/** The native command line's JSON result, built first if it is missing. */
export function native(args) {
  if (!existsSync(cli)) execFileSync('cargo', ['build', '--release', '--bin', 'convexlens'], { cwd: root, stdio: 'ignore' });
  return JSON.parse(execFileSync(cli, args, { cwd: tmp, encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** Counts drawn (non-transparent) pixels of a canvas. */
export function inkOf(page, selector) {
  return page.$eval(selector, (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
}

export const shot = (page, name, fullPage = true) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage });
