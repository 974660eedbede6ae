// Runs graph convexity with the wasm package (pkg/, built for the web) in Node and prints
// JSON: times and the result envelope. Usage: node wasm_node.mjs X.npy labels.npy [paths] [k]
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import init, { Session } from '../pkg/convexlens.js';

const [embPath, labelsPath, paths = '5000', k = '10'] = process.argv.slice(2);
const root = fileURLToPath(new URL('../', import.meta.url));

let t = performance.now();
// pkg is built with --target web, whose init would fetch() the .wasm: hand it the bytes.
const wasm = await init({ module_or_path: readFileSync(join(root, 'pkg', 'convexlens_bg.wasm')) });
const initMs = performance.now() - t;

t = performance.now();
const session = new Session();
const emb = basename(embPath);
const lab = basename(labelsPath);
session.add_file(emb, readFileSync(embPath));
session.add_file(lab, readFileSync(labelsPath));
const addMs = performance.now() - t;

t = performance.now();
const result = session.graph({
  embeddings: { file: emb, field: null },
  labels: { file: lab, field: null },
  options: { k: Number(k), n_paths: Number(paths), seed: 0, baseline: 0 },
}, () => {});
const graphMs = performance.now() - t;

process.stdout.write(JSON.stringify({
  init_ms: initMs,
  add_ms: addMs,
  graph_ms: graphMs,
  wasm_memory_bytes: wasm.memory.buffer.byteLength,
  max_rss_kb: process.resourceUsage().maxRSS,
  result,
}));
