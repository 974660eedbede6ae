// A pool of Web Workers (pool-worker.js) that the analysis worker spreads a graph-convexity
// run over, without SharedArrayBuffer and so without special headers: each worker has its
// own module instance and its own copy of the rows. The phases are the core's (knn.rs,
// graph_convexity.rs); the merge order is fixed, so the result is bit-identical to one
// worker's. The pool's workers are children of the analysis worker: when the page cancels
// by terminating that worker, they end with it.

// Below this many rows one worker is as fast: copying the rows to every worker and merging
// cost more than the search saves (measured in Chromium on 2 cores; see README).
export const POOL_MIN_ROWS = 500;

// Workers beyond the cores only add copies of the rows.
const MAX_WORKERS = 8;

// After this many failures (a worker that cannot load, or traps) the pool is not started
// again: the analysis worker runs every analysis alone.
const MAX_FAILURES = 3;

export class Pool {
  /** `glue`: URL of the wasm-bindgen module to import; `module`: its compiled WebAssembly.Module. */
  constructor(glue, module, size = Math.min(navigator.hardwareConcurrency || 1, MAX_WORKERS)) {
    this.size = size;
    this.glue = glue;
    this.module = module;
    // Ids stay unique across respawns, so a late reply of a replaced worker matches nothing.
    this.nextId = 1;
    this.pending = new Map();
    this.failures = 0;
    this.spawn();
  }

  // Spawned when the analysis worker starts, so their scripts load with the page and no
  // request leaves the tab during an analysis.
  spawn() {
    this.workers = Array.from({ length: this.size }, () => {
      const worker = new Worker(new URL('./pool-worker.js', import.meta.url), { type: 'module' });
      worker.onmessage = ({ data }) => this.receive(data);
      worker.onerror = (event) => {
        event.preventDefault();
        this.fail(new Error(`a pool worker failed${event.message ? `: ${event.message}` : ''}`));
      };
      worker.postMessage({ op: 'load', glue: this.glue, module: this.module });
      return worker;
    });
    // Settles when every worker has loaded and warmed up its module (never rejects: a
    // failed worker is replaced, and the next run reports the failure).
    this.ready = this.all('ping').catch(() => {});
  }

  receive({ id, value, error, fatal }) {
    const job = this.pending.get(id);
    if (!job) return;
    this.pending.delete(id);
    if (error === undefined) return job.resolve(value);
    const e = new Error(error);
    job.reject(e);
    // A trap leaves that instance unusable: start the pool afresh for the next run.
    if (fatal) this.fail(e);
  }

  /** Rejects everything pending and replaces the workers (or retires the pool). */
  fail(error) {
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
    for (const worker of this.workers) worker.terminate();
    this.workers = [];
    if (++this.failures < MAX_FAILURES) this.spawn();
  }

  get retired() {
    return this.failures >= MAX_FAILURES;
  }

  call(w, op, args = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[w].postMessage({ ...args, op, id }, transfer);
    });
  }

  all(op, args) {
    return Promise.all(this.workers.map((_, w) => this.call(w, op, args)));
  }

  /**
   * Runs tasks 0..count-1, each on whichever worker is free next: `task(w, i)` → promise.
   * Each worker is given its next task before it finishes the current one, so it does not
   * sit idle while a reply and the next request cross between threads.
   */
  async each(count, task) {
    let next = 0;
    let failed = false;
    const lanes = this.workers.flatMap((_, w) => [w, w]);
    await Promise.all(lanes.map(async (w) => {
      while (!failed && next < count) {
        try {
          await task(w, next++);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }));
  }

  /**
   * Graph convexity over the pool, or null when the run is not for it (fewer than `minRows`
   * rows, or not the exact graph): then `session.graph` runs it alone.
   */
  async graph(session, request, progress, minRows = POOL_MIN_ROWS) {
    if (this.retired) return null;
    const sizes = session.graph_begin(request, minRows, this.size);
    if (!sizes) return null;
    const { rows, cols, k, block_pairs: blockPairs, classes } = sizes;
    const workers = this.size;
    try {
      progress('nearest neighbours', 0);
      // A copy of the rows for each worker, moved to it rather than cloned. A worker handles
      // messages in order, so its first scan follows without waiting for the reply.
      const initialised = Promise.all(this.workers.map((_, w) => {
        const data = session.graph_matrix();
        return this.call(w, 'init', { data, rows, cols, k }, [data.buffer]);
      }));

      // Block pairs in small tasks, for balance and progress; any split merges the same.
      const pairStep = Math.max(1, Math.ceil(blockPairs / (8 * workers)));
      const pairTasks = Math.ceil(blockPairs / pairStep);
      let scanned = 0;
      const scanning = this.each(pairTasks, async (w, t) => {
        await this.call(w, 'scan', { first: t * pairStep, end: (t + 1) * pairStep });
        progress('nearest neighbours', (++scanned / pairTasks) * 0.95);
      });
      // This worker draws the pairs to score meanwhile (they need no graph).
      let queries;
      try {
        queries = session.graph_plan();
      } finally {
        await Promise.all([initialised, scanning]);
      }
      const candidates = await this.all('candidates');
      const cap = candidates[0][0].length / rows;

      // Rows in ranges: each range's candidates from every worker, merged and refined.
      const rowStep = Math.ceil(rows / (4 * workers));
      const ranges = Math.ceil(rows / rowStep);
      const refined = new Array(ranges);
      await this.each(ranges, async (w, t) => {
        const first = t * rowStep;
        const end = Math.min(rows, first + rowStep);
        const parts = candidates.map(([dist, row, len]) =>
          [dist.slice(first * cap, end * cap), row.slice(first * cap, end * cap), len.slice(first, end)]);
        refined[t] = await this.call(w, 'refine', { first, parts }, parts.flat().map((a) => a.buffer));
      });
      const concat = (Type, i) => {
        const out = new Type(refined.reduce((n, r) => n + r[i].length, 0));
        let at = 0;
        for (const r of refined) {
          out.set(r[i], at);
          at += r[i].length;
        }
        return out;
      };
      const lists = { lens: concat(Uint32Array, 0), rows: concat(Uint32Array, 1), dists: concat(Float64Array, 2) };
      const exhaustive = refined.reduce((n, r) => n + r[3], 0);
      // Each worker builds the graph and plans its searches; the path tasks (sources in row
      // ranges) queue behind, and this worker builds its own graph for the summary meanwhile.
      const built = this.all('graph', { ...lists, classes, codes: session.graph_codes(), options: request.options ?? {} });
      progress('nearest neighbours', 1);
      progress('shortest paths', 0);
      const scores = new Float64Array(queries).fill(Infinity);
      const searchStep = Math.max(1, Math.ceil(rows / (32 * workers)));
      const searchTasks = Math.ceil(rows / searchStep);
      let searched = 0;
      const scoring = this.each(searchTasks, async (w, t) => {
        const [query, score] = await this.call(w, 'paths', { first: t * searchStep, end: (t + 1) * searchStep });
        for (let i = 0; i < query.length; i++) scores[query[i]] = score[i];
        progress('shortest paths', ++searched / searchTasks);
      });
      try {
        session.graph_neighbours(lists.lens, lists.rows, lists.dists, exhaustive);
      } finally {
        const [planned] = await Promise.all([built, scoring]);
        if (planned.some((count) => count !== queries)) throw new Error(`the workers planned ${planned} pairs, this one ${queries}`);
      }
      if (scores.some((s) => s === Infinity)) throw new Error('a pair was not scored');
      const result = session.graph_finish(scores);
      result.workers = workers;
      return result;
    } finally {
      this.all('done').catch(() => {});
    }
  }
}
