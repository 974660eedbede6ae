// The page's side of the worker protocol (see worker.js): one request at a time, replies
// matched by id, cancel = terminate the worker and start a fresh one with the same files.

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

// The core records every matrix it reads, including those read for a projection or a path,
// and reports them with the next analysis; they are not inputs of that analysis.
const NOT_INPUTS = new Set(['projection', 'paths']);

export class Analyst {
  constructor() {
    this.files = new Map(); // name -> File, re-sent to a fresh worker
    this.nextId = 1;
    this.spawn();
  }

  spawn() {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map(); // id -> {resolve, reject, onProgress}
    // The worker handles messages concurrently while one awaits file bytes, so requests are
    // sent one after the other: `queue` settles when the previous reply has arrived.
    this.queue = Promise.resolve();
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(new Error(`the analysis engine failed to start or crashed${event.message ? `: ${event.message}` : ''}`));
      this.replace();
    };
  }

  receive(message) {
    const job = this.pending.get(message.id);
    if (!job) return;
    if (message.type === 'progress') {
      job.onProgress?.(message.stage, message.fraction);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'error') {
      const error = new Error(message.message);
      error.fatal = message.fatal;
      job.reject(error);
      if (message.fatal) this.replace();
    } else {
      job.resolve(message);
    }
  }

  failAll(error) {
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }

  /** Sends one message once the previous one has been answered; resolves with the reply. */
  request(message, onProgress) {
    const id = this.nextId++;
    const worker = this.worker;
    const send = () => new Promise((resolve, reject) => {
      if (worker !== this.worker) return reject(new Cancelled());
      this.pending.set(id, { resolve, reject, onProgress });
      worker.postMessage({ ...message, id });
    });
    const reply = this.queue.then(send, send);
    this.queue = reply.catch(() => {});
    return reply;
  }

  /** Parses files in the worker; returns {summaries, errors}. Good files are kept for re-sending. */
  async addFiles(files) {
    const reply = await this.request({ type: 'files', files });
    const bad = new Set(reply.errors.map((e) => e.file));
    for (const file of files) if (!bad.has(file.name)) this.files.set(file.name, file);
    return { summaries: reply.summaries, errors: reply.errors };
  }

  forget(name) {
    this.files.delete(name);
  }

  /** `pool`: for benchmarks, `{ workers: 1 }` (no pool) or `{ poolMinRows }` (its threshold). */
  async run(analysis, request, onProgress, pool = {}) {
    const { result } = await this.request({ type: 'run', analysis, request, ...pool }, onProgress);
    if (Array.isArray(result.inputs)) result.inputs = result.inputs.filter((i) => !NOT_INPUTS.has(i.role));
    return result;
  }

  async projection(source) {
    return (await this.request({ type: 'projection', source })).coords;
  }

  async path(source, k, a, b) {
    return (await this.request({ type: 'path', source, k, a, b })).path;
  }

  /** Stops whatever runs now: every pending request rejects with Cancelled. */
  cancel() {
    this.failAll(new Cancelled());
    this.replace();
  }

  replace() {
    this.worker.terminate();
    this.spawn();
    if (this.files.size) this.request({ type: 'files', files: [...this.files.values()] }).catch(() => {});
  }
}
