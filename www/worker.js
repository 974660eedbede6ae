// The analysis worker: parses files and runs the Rust core off the page's thread.
// It only moves messages; every computation is in the wasm module. The page cancels a run
// by terminating this worker and starting a fresh one, so no flag needs shared memory; the
// pool's workers (pool.js) are this worker's children and end with it.
import { Pool } from './pool.js';

// i8x16.popcnt(i8x16.splat(0)): validates only where WebAssembly SIMD is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
const glue = new URL(WebAssembly.validate(SIMD_PROBE) ? '../pkg/convexlens.js' : '../pkg/plain/convexlens.js', import.meta.url);

async function compile(url) {
  try {
    return await WebAssembly.compileStreaming(fetch(url));
  } catch {
    // A server that does not send application/wasm.
    return WebAssembly.compile(await (await fetch(url)).arrayBuffer());
  }
}

// Compiled once here and handed to the pool's workers, which instantiate it without a fetch.
let pool = null;
const ready = (async () => {
  const [wasm, module] = await Promise.all([import(glue.href), compile(new URL('convexlens_bg.wasm', glue))]);
  await wasm.default({ module_or_path: module });
  if ((navigator.hardwareConcurrency || 1) > 1) pool = new Pool(glue.href, module);
  try {
    wasm.warm_up();
  } catch {
    // Only a head start: the analyses work without it.
  }
  await pool?.ready;
  if (pool) await warmUpPool(wasm);
  return wasm;
})();

// One small run through the pool, as a person's would go (a session, files, every phase and
// message): a first run otherwise meets JavaScript and glue code that V8 has not yet
// optimised, and was a fifth slower than the next ones.
async function warmUpPool(wasm) {
  const warm = new wasm.Session();
  try {
    const [embeddings, labels] = wasm.warm_up_files();
    warm.add_file('warm-up.npy', embeddings);
    warm.add_file('warm-up-labels.npy', labels);
    const request = {
      embeddings: { file: 'warm-up.npy', field: null },
      labels: { file: 'warm-up-labels.npy', field: null },
      options: { k: 10, n_paths: 200, seed: 0, baseline: 0 },
    };
    await pool.graph(warm, request, () => {}, 0);
  } catch {
    // A head start only; a pool that fails here fails the next run too, which recovers.
  } finally {
    warm.free();
  }
}
let session = null;

// Progress messages are cheap, but a report per chunk can still be frequent: send at most
// one per 50 ms per stage change.
function progressReporter(id) {
  let last = 0;
  let lastStage = '';
  return (stage, fraction) => {
    const now = performance.now();
    if (stage !== lastStage || now - last > 50 || fraction >= 1) {
      postMessage({ type: 'progress', id, stage, fraction });
      last = now;
      lastStage = stage;
    }
  };
}

// The SHA-256 every result records, by the browser's native WebCrypto (far faster than the
// module's own); null where it is unavailable (a page served over plain http from another
// host is not a secure context), and the module hashes the file itself.
async function digest(bytes) {
  if (!globalThis.crypto?.subtle) return null;
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
}

const messageOf = (error) => (error && error.message) ? error.message : String(error);

async function handle(message) {
  const { Session } = await ready;
  session ??= new Session();
  const { type, id } = message;
  switch (type) {
    case 'files': {
      const summaries = [];
      const errors = [];
      for (const file of message.files) {
        try {
          const bytes = new Uint8Array(await file.arrayBuffer());
          const sha256 = await digest(bytes);
          summaries.push(session.add_and_inspect(file.name, bytes, sha256 ?? undefined));
        } catch (error) {
          errors.push({ file: file.name, message: messageOf(error) });
        }
      }
      return { type: 'files', id, summaries, errors };
    }
    case 'run': {
      const run = { graph: 'graph', euclidean: 'euclidean', layers: 'layers', correlate: 'correlate', memorization: 'memorization' }[message.analysis];
      if (!run) throw new Error(`unknown analysis '${message.analysis}'`);
      const progress = progressReporter(id);
      // `workers: 1` keeps a graph run in this worker; `poolMinRows` overrides the pool's
      // threshold (both for tests and benchmarks; the page sends neither).
      let pooled = null;
      let poolError = null;
      if (run === 'graph' && pool && message.workers !== 1) {
        try {
          pooled = await pool.graph(session, message.request, progress, message.poolMinRows);
        } catch (error) {
          // One worker computes the same result (and reports the input's own errors again).
          session.graph_abandon();
          poolError = messageOf(error);
        }
      }
      const result = pooled ?? session[run](message.request, progress);
      if (run === 'graph') result.workers ??= 1;
      if (poolError) result.warnings.push(`the pool of workers failed (${poolError}), so one worker computed this result`);
      return { type: 'result', id, result };
    }
    case 'projection': {
      const coords = session.projection(message.source);
      return { type: 'projection', id, coords, transfer: [coords.buffer] };
    }
    case 'path':
      return { type: 'path', id, path: session.path(message.source, message.k, message.a, message.b) };
    default:
      throw new Error(`unknown message type '${type}'`);
  }
}

async function reply(message) {
  try {
    const { transfer = [], ...rest } = await handle(message);
    postMessage(rest, transfer);
  } catch (error) {
    // A trap inside wasm (RuntimeError) leaves the instance unusable: tell the page to
    // replace this worker. Errors from the core are ordinary and leave it ready.
    const fatal = error instanceof WebAssembly.RuntimeError;
    postMessage({ type: 'error', id: message.id, message: messageOf(error), fatal });
  }
}

// Handle messages strictly in arrival order: reading a file awaits its bytes, and a run sent
// right after must not start before that file is in the session.
let queue = Promise.resolve();
onmessage = (event) => {
  queue = queue.then(() => reply(event.data));
};
