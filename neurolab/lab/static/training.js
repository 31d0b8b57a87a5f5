// The training panel: start a few epochs from the page, or follow a fit started from Python
// with callbacks=[lab.watch()]; loss and accuracy curves as it goes, and a stop button.
//
// Training runs on the server's own thread: the page only asks for it to start or stop and
// polls GET /api/train/status, asking each time only for the points it does not have yet
// (?since=...). Nothing here waits for training, so the rest of the page keeps answering.

import { api } from "./api.js";
import { drawCurves } from "./chart.js";
import { byId } from "./dom.js";
import { percent, short } from "./format.js";

const POLL_RUNNING = 400; // ms between polls while training runs
const POLL_IDLE = 2000; // ...and while it does not: a fit started from Python shows within 2 s

export class TrainingPanel {
  /**
   * @param {object} model  GET /api/model's answer
   * @param {function(object)} onVersion  called with the status when the weights the server shows have changed (training stepped or ended)
   * @param {function(Error)} onError
   */
  constructor(model, onVersion, onError) {
    this.onVersion = onVersion;
    this.onError = onError;
    this.version = model.version;
    this.points = []; // [step, epoch, loss, accuracy] for every batch, over all runs
    this.epochs = [];
    this.status = null;
    this.form = byId("train-form");
    this.startButton = byId("train");
    this.stopButton = byId("stop");
    this.statusLine = byId("train-status");
    this.count = byId("train-points");
    this.canvas = byId("curves");
    this.available = model.training !== null;
    if (!this.available) {
      this.startButton.disabled = true;
      for (const input of this.form.querySelectorAll("input")) input.disabled = true;
    }
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start().catch(onError);
    });
    this.stopButton.addEventListener("click", () => this.stop().catch(onError));
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.poll();
  }

  async start() {
    const body = { epochs: Number(byId("epochs").value), batch_size: Number(byId("batch-size").value) };
    const lr = byId("lr").value.trim();
    if (lr !== "") body.lr = Number(lr);
    this.startButton.disabled = true; // until the status says it runs; a second click would get a 409
    try {
      this.apply(await api("/api/train/start", body));
    } finally {
      this.poll();
    }
  }

  async stop() {
    this.stopButton.disabled = true;
    this.apply(await api("/api/train/stop", {}));
  }

  /** Ask for the status now, then again in a while (sooner while training runs). */
  poll() {
    clearTimeout(this.timer);
    if (this.polling) { // one poll at a time: ask again as soon as this one is answered
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    api(`/api/train/status?since=${this.points.length}`, undefined, { background: true })
      .then((status) => this.apply(status))
      .catch(this.onError)
      .finally(() => {
        this.polling = false;
        const running = this.status !== null && this.status.running;
        const wait = this.pollAgain ? 0 : running ? POLL_RUNNING : POLL_IDLE;
        this.pollAgain = false;
        this.timer = setTimeout(() => this.poll(), wait);
      });
  }

  /** Take in a status answer: new points, the buttons, the status line, and new weights if any. */
  apply(status) {
    if (status.since === this.points.length) this.points.push(...status.batch_points);
    else if (status.batch_points_total < this.points.length) this.points = []; // another server answered: start over
    this.epochs = status.epoch_points;
    this.status = status;
    this.startButton.disabled = !this.available || status.running;
    this.stopButton.disabled = !status.running || status.stop_requested;
    this.statusLine.dataset.running = String(status.running);
    this.statusLine.textContent = describe(status, this.available);
    this.statusLine.classList.toggle("error", status.error !== null);
    this.count.textContent = `${this.points.length} step${this.points.length === 1 ? "" : "s"}`;
    this.canvas.dataset.points = String(this.points.length);
    this.draw();
    if (status.version !== this.version) {
      this.version = status.version;
      this.onVersion(status);
    }
  }

  draw() {
    const s = this.status;
    // Where the run going on will end: the rest of this epoch, then its remaining epochs.
    const end = s && s.running ? s.steps + (s.batches - s.batch) + (s.epochs - s.epoch) * s.batches : 0;
    drawCurves(this.canvas, this.points, this.epochs, end);
  }
}

/** The status line: what runs, where it is, how it went. */
function describe(s, available) {
  const last = s.epoch_points[s.epoch_points.length - 1];
  const latest = s.batch_points[s.batch_points.length - 1];
  const numbers = (loss, accuracy) =>
    `loss ${short(loss)}${accuracy === null || accuracy === undefined ? "" : `, accuracy ${percent(accuracy)}`}`;
  if (s.running) {
    const who = s.source === "page" ? "from this page" : "from Python (a fit with lab.watch())";
    if (s.stop_requested) return `Stopping ${s.source === "page" ? "after the current batch" : "at the end of the epoch"}…`;
    const now = latest ? ` · ${numbers(latest[2], latest[3])}` : "";
    return `Training ${who}: epoch ${s.epoch} of ${s.epochs}, batch ${s.batch} of ${s.batches}${now}`;
  }
  if (s.error) return `Training stopped by an error: ${s.error}`;
  if (s.runs === 0) {
    return available
      ? "Not trained from here yet. Training runs on the server; the page stays live."
      : "No training data: serve the network with train_data=(X, y) to train from here. " +
        "A fit you run with callbacks=[lab.watch()] shows here all the same.";
  }
  const how = s.stop_requested ? "Stopped" : "Finished";
  const epochText = last ? `; last full epoch: ${numbers(last.loss, last.accuracy)}` : "";
  return `${how} after ${s.steps} steps${epochText}.`;
}
