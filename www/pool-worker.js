// One worker of the analysis worker's pool (see pool.js): its own instance of the module the
// analysis worker compiled, holding one GraphPart, the rows of the run and its share of
// the phases. Replies carry the request's id; typed arrays are transferred, not copied.
let wasm = null;
let part = null;
let loaded = null;

const ops = {
  ping: () => true,
  init: ({ data, rows, cols, k }) => {
    part?.free();
    part = new wasm.GraphPart(data, rows, cols, k);
  },
  scan: ({ first, end }) => part.scan(first, end),
  candidates: () => part.candidates(),
  refine: ({ first, parts }) => part.refine(first, parts),
  graph: ({ lens, rows, dists, classes, codes, options }) => part.set_graph(lens, rows, dists, classes, codes, options),
  paths: ({ first, end }) => part.paths(first, end),
  // Releases the rows and graph; the instance stays for the next run.
  done: () => {
    part?.free();
    part = null;
  },
};

onmessage = async ({ data: message }) => {
  if (message.op === 'load') {
    loaded = import(message.glue).then((module) => {
      module.initSync({ module: message.module });
      wasm = module;
      // Optimises the hot code before the first real run (graph_convexity::warm_up); only a
      // head start, so a failure of it is no failure of the worker.
      try {
        module.warm_up();
      } catch { /* a head start only */ }
    });
    return;
  }
  try {
    // Every message awaits the same promise, so they still run in arrival order.
    await loaded;
    const value = ops[message.op](message);
    const transfer = Array.isArray(value) ? value.filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer) : [];
    postMessage({ id: message.id, value }, transfer);
  } catch (error) {
    postMessage({ id: message.id, error: error?.message ?? String(error), fatal: error instanceof WebAssembly.RuntimeError });
  }
};
