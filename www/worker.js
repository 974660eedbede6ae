// The analysis worker: parses files and runs the Rust core off the page's thread.
// It only moves messages; every computation is in the wasm module. The page cancels a run
// by terminating this worker and starting a fresh one, so no flag needs shared memory.
import init, { Session, inspect } from '../pkg/convexlens.js';

const ready = init();
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

const messageOf = (error) => (error && error.message) ? error.message : String(error);

async function handle(message) {
  await ready;
  session ??= new Session();
  const { type, id } = message;
  switch (type) {
    case 'files': {
      const summaries = [];
      const errors = [];
      for (const file of message.files) {
        try {
          const bytes = new Uint8Array(await file.arrayBuffer());
          summaries.push(inspect(file.name, bytes));
          session.add_file(file.name, bytes);
        } catch (error) {
          errors.push({ file: file.name, message: messageOf(error) });
        }
      }
      return { type: 'files', id, summaries, errors };
    }
    case 'run': {
      const run = { graph: 'graph', euclidean: 'euclidean', layers: 'layers', correlate: 'correlate', memorization: 'memorization' }[message.analysis];
      if (!run) throw new Error(`unknown analysis '${message.analysis}'`);
      const result = session[run](message.request, progressReporter(id));
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
