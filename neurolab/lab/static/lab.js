// The lab's minimal page: send pixels or inputs to /api/predict and show the answer.
// Every request and answer is described in docs/lab.md.
"use strict";

let model = null;
let sampleIndex = -1;

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error);
  return answer;
}

function showError(error) {
  document.getElementById("error").textContent = error ? String(error.message || error) : "";
}

function readValues() {
  const text = document.getElementById("values").value.trim();
  return text === "" ? [] : text.split(/[\s,]+/).map(Number);
}

async function predict() {
  const key = model.input.kind === "pixels" ? "pixels" : "inputs";
  const answer = await api("/api/predict", { [key]: readValues() });
  document.getElementById("prediction").textContent = answer.label === null ? "(a value)" : String(answer.label);
  const rows = answer.probabilities.map((p, k) =>
    `<tr><td>${model.class_labels ? model.class_labels[k] : k}</td><td>${p.toFixed(4)}</td></tr>`);
  document.getElementById("probabilities").innerHTML = rows.join("");
  document.getElementById("answer").textContent = JSON.stringify(answer, null, 1).slice(0, 20000);
}

async function pick(how) {
  const query = how === "random" ? "pick=random" : `pick=${how}&index=${Math.max(sampleIndex, how === "previous" ? 0 : -1)}`;
  const sample = await api(`/api/samples?${query}`);
  sampleIndex = sample.index;
  const values = model.input.kind === "pixels" ? sample.pixels.map(Math.round) : sample.inputs;
  document.getElementById("values").value = values.join(" ");
  document.getElementById("sample").textContent =
    `sample ${sample.index} of ${sample.count}: label ${sample.label}, the network says ${sample.predicted}`;
  await predict();
}

async function pollTraining() {
  const status = await api("/api/train/status?since=0");
  const last = status.epoch_points[status.epoch_points.length - 1];
  const shown = last ? `; last epoch: loss ${last.loss.toFixed(4)}, accuracy ${last.accuracy === null ? "–" : last.accuracy.toFixed(4)}` : "";
  document.getElementById("status").textContent = status.running
    ? `training (${status.source}): epoch ${status.epoch}/${status.epochs}, batch ${status.batch}/${status.batches}${shown}`
    : `not training; ${status.steps} steps so far${shown}${status.error ? "; error: " + status.error : ""}`;
}

async function start() {
  model = await api("/api/model");
  const layers = model.layers.map((layer) => `<li><code>${layer.repr}</code>: ${layer.units} units</li>`);
  document.getElementById("layers").innerHTML = layers.join("");
  document.getElementById("model").textContent =
    `${model.layers.length} layers, loss ${model.loss}, ${model.input.features} inputs, ${model.outputs} outputs`;
  document.getElementById("input-help").textContent = model.input.kind === "pixels"
    ? "784 pixels, 0 (black) to 255 (white ink), row by row, separated by spaces or commas."
    : `${model.input.features} input values, separated by spaces or commas.`;
  document.getElementById("samples").hidden = model.samples === null;
  document.getElementById("training").hidden = model.training === null;
  document.getElementById("values").value = new Array(model.input.features).fill(0).join(" ");

  document.getElementById("predict-form").addEventListener("submit", (event) => {
    event.preventDefault();
    predict().then(() => showError(null), showError);
  });
  for (const button of document.querySelectorAll("[data-pick]")) {
    button.addEventListener("click", () => pick(button.dataset.pick).then(() => showError(null), showError));
  }
  document.getElementById("train").addEventListener("click", () => {
    const epochs = Number(document.getElementById("epochs").value);
    api("/api/train/start", { epochs }).then(() => showError(null), showError);
  });
  document.getElementById("stop").addEventListener("click", () => api("/api/train/stop", {}).catch(showError));
  if (model.training !== null) setInterval(() => pollTraining().catch(showError), 1000);
}

start().catch(showError);
