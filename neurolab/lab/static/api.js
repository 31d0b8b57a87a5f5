// Talking to the lab's server: one function per request, and a scheduler for requests that
// follow the user's drawing. Every request and answer is described in docs/lab.md.

/** A refused or failed request; `message` is the server's own ("POST /api/predict: expected ..."). */
export class RequestFailed extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/**
 * GET `path`, or POST `body` as JSON to it; the answer's JSON, or a RequestFailed.
 * `background`: a poll that runs all the time, not counted as the page being busy (see below).
 */
export async function api(path, body, { background = false } = {}) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  if (!background) addPending(1);
  try {
    let response;
    try {
      response = await fetch(path, options);
    } catch {
      throw new RequestFailed("the lab's server does not answer: is `neurolab lab` (or nl.lab.serve) still running?", 0);
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      // a proxy's HTML error page, say: the status says enough
    }
    if (!response.ok) {
      throw new RequestFailed(answer && answer.error ? answer.error : `${response.status} ${response.statusText}`, response.status);
    }
    return answer;
  } finally {
    if (!background) addPending(-1);
  }
}

// How many requests are out and schedulers have work queued, on <body data-pending="...">: the
// page is settled (what it shows matches its input) when it is 0. The browser tests wait for that.
let pending = 0;

function addPending(delta) {
  pending += delta;
  document.body.dataset.pending = String(pending);
}

/**
 * Runs `work(input)` for the newest input only, one at a time, at most once every `interval` ms.
 *
 * Drawing produces dozens of inputs a second. Sending each would queue requests behind each
 * other and the prediction would trail the pen; dropping all but the newest keeps the page
 * as current as the server allows, and `interval` keeps it from asking more than it can show.
 * Since one runs at a time, answers are applied in the order the inputs came.
 */
export class Latest {
  constructor(interval, work, onError) {
    this.interval = interval;
    this.work = work;
    this.onError = onError;
    this.queued = null; // the newest input not yet sent
    this.running = false;
    this.timer = null;
    this.lastStart = -Infinity;
    this.active = false;
  }

  /** Ask for `work(input)`; an input queued before and not yet sent is dropped. */
  request(input) {
    this.queued = { input };
    this.pump();
  }

  pump() {
    this.markActive();
    if (this.running || this.timer !== null || this.queued === null) return;
    const wait = this.lastStart + this.interval - performance.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
      this.markActive();
      return;
    }
    const { input } = this.queued;
    this.queued = null;
    this.running = true;
    this.lastStart = performance.now();
    this.markActive();
    Promise.resolve()
      .then(() => this.work(input))
      .catch((error) => this.onError(error))
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  markActive() {
    const active = this.running || this.timer !== null || this.queued !== null;
    if (active !== this.active) {
      this.active = active;
      addPending(active ? 1 : -1);
    }
  }
}
