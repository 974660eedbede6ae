// The run bar of one view: its status line, the progress bar with the current step, the
// Cancel button, run errors, and the data-run / data-finished marks that the end-to-end
// tests wait on. Element ids are the view's prefix plus status, runbar, progress,
// progress-label, progress-text, cancel and run-errors.
import { el } from './render.js';

export class RunBar {
  /** `prefix`: of the view's element ids; `marks`: the element carrying data-run/finished. */
  constructor(prefix, marks) {
    this.part = (name) => document.getElementById(`${prefix}${name}`);
    this.marks = marks;
    this.lastStep = '';
  }

  status(text) {
    this.part('status').textContent = text;
  }

  start(status) {
    const bar = this.part('runbar');
    bar.hidden = false;
    bar.classList.add('running');
    this.part('progress-label').textContent = 'Working';
    this.part('cancel').hidden = false;
    this.part('progress').value = 0;
    this.part('progress-text').textContent = 'starting…';
    this.marks.dataset.run = 'running';
    this.status(status);
  }

  /** Shows `text` at `fraction`; the status line announces a new `step`, not every percent. */
  progress(text, fraction, step) {
    this.part('progress').value = fraction;
    this.part('progress-text').textContent = `${text} · ${Math.floor(100 * fraction)}%`;
    if (step !== this.lastStep) {
      this.lastStep = step;
      this.status(`Computing: ${step}…`);
    }
  }

  /** Ends a run as `how` (done, error, stopped, cancelled) with a status message. */
  finish(how, message) {
    this.lastStep = '';
    this.marks.dataset.run = how;
    this.marks.dataset.finished = String(Number(this.marks.dataset.finished ?? 0) + 1);
    const bar = this.part('runbar');
    bar.hidden = how !== 'cancelled';
    bar.classList.remove('running');
    this.part('cancel').hidden = true;
    if (how === 'done') this.part('progress').value = 1;
    this.status(message);
  }

  /** Ends a run the person cancelled, saying how far it had come. */
  cancelled() {
    const at = Math.floor(100 * this.part('progress').value);
    this.finish('cancelled', `Cancelled at ${at}%. Nothing is running now; press Run to start again.`);
    this.part('progress-label').textContent = 'Cancelled';
    this.part('progress-text').textContent = `Cancelled at ${at}%`;
  }

  error(message) {
    this.part('run-errors').replaceChildren(el('p', { class: 'error' }, message));
  }

  clearError() {
    this.part('run-errors').replaceChildren();
  }
}
