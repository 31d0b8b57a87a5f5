// The lab's page: draw a digit (or type an input), watch every neuron, click one for its
// backpropagation, train. This module holds the page's state and wires the parts together:
//
//   draw.js / vector.js   the input            network.js   the layers' cells
//   trace.js              one neuron's trace   training.js  curves, start and stop
//   weights.js            first-layer weights  api.js       requests (docs/lab.md lists them)
//
// The flow: an input change asks for a prediction; each prediction shades the network and, if a
// neuron is selected, asks for its trace on that same input. Requests that follow the pen go
// through a Latest scheduler (api.js), which sends only the newest input, one at a time.

import { api, Latest } from "./api.js";
import { css, diverging, paintInk } from "./colors.js";
import { byId, h } from "./dom.js";
import { DrawingPad } from "./draw.js";
import { fmt, percent } from "./format.js";
import { mapsOf, NetworkView } from "./network.js";
import { TracePanel } from "./trace.js";
import { TrainingPanel } from "./training.js";
import { VectorEditor } from "./vector.js";
import { drawTiles, fetchWeightImages, pictureLayer } from "./weights.js";

const PREDICT_EVERY = 50; // ms: while drawing, at most 20 predictions a second (the server answers in a few ms)
const EXPLAIN_EVERY = 120; // ms: a trace is bigger, and read more slowly
const WEIGHTS_EVERY = 1500; // ms: the first layer's pictures while training

const state = {
  sample: null, // the test sample on the pad or in the editor, {index, count, label, inputs, pixels}
  shown: null, // what the page shows: {payload: the input sent, answer: /api/predict's answer}
  selected: null, // the clicked neuron, {layer, neuron}
};

async function main() {
  const model = await api("/api/model");
  byId("model-summary").textContent = summary(model);
  byId("error-close").addEventListener("click", () => showError(null));

  // predict and explain (below) do the work; these run them as inputs and clicks ask.
  const predictor = new Latest(PREDICT_EVERY, predict, showError);
  const explainer = new Latest(EXPLAIN_EVERY, explain, (error) => trace.fail(error.message));
  const network = new NetworkView(byId("layers"), model, (layer, neuron) => select(layer, neuron));
  const trace = new TracePanel(byId("trace"), model, () => explainer.request());
  const changed = () => predictor.request();
  const input = model.input.kind === "pixels" ? pixelInput(model, changed) : vectorInput(model, changed);
  const parts = { model, network, trace, predictor, explainer, input };

  /** Ask for the prediction of the input now on the page; then shade the network and refresh the trace. */
  async function predict() {
    const payload = input.payload();
    if (payload === null) {
      state.shown = null;
      showPrediction(model, null);
      network.clear();
      trace.setPredicted(null);
      if (state.selected && model.layers[state.selected.layer].filters) explainer.request(); // its weights, without a map
      else if (state.selected) trace.empty();
      return;
    }
    // The activations as bytes: a CNN's feature maps are tens of thousands of numbers, which the
    // server writes many times faster this way than as JSON numbers (docs/lab.md).
    const answer = await api("/api/predict", { ...payload, activations: "base64" });
    answer.activations = answer.activations.map(decoded);
    state.shown = { payload, answer };
    showError(null);
    showPrediction(model, answer);
    showSampleVerdict(model, payload, answer);
    network.update(answer);
    trace.setPredicted(answer.label);
    if (state.selected) explainer.request();
  }

  /** Ask for the selected neuron's trace on the input the page shows, against the chosen target. */
  async function explain() {
    const shown = state.shown;
    const selected = state.selected;
    if (selected !== null && model.layers[selected.layer].filters) {
      await showFilter(shown, selected);
      return;
    }
    if (shown === null || selected === null || !model.layers[selected.layer].explainable) return;
    const chosen = trace.chosenTarget();
    // By default: the class the network predicted; for an output read as a value (no classes),
    // the sample's own target, or 0 for a drawing.
    const target = chosen ?? shown.answer.label ?? (state.sample ? state.sample.label : 0);
    const body = { ...shown.payload, layer: selected.layer, neuron: selected.neuron, text: true };
    if (target !== null) body.target = target;
    const answer = await api("/api/explain", body);
    // A newer input or another neuron since the request: its own request is queued, and this
    // answer would show numbers that are not the page's.
    if (state.shown !== shown || state.selected !== selected || trace.chosenTarget() !== chosen) return;
    trace.show(answer, target);
  }

  /** A Conv2D filter has no trace of its own (it is shared by every position): show its weights and its map on this input. */
  async function showFilter(shown, selected) {
    const { layer, neuron } = selected;
    const weights = await api(`/api/weights?layer=${layer}&neuron=${neuron}`);
    if (state.shown !== shown || state.selected !== selected) return; // a newer input or another map since: its own request is queued
    const [, rows, cols] = mapsOf(model.layers[layer]);
    const map = shown === null ? null : shown.answer.activations[layer].subarray(neuron * rows * cols, (neuron + 1) * rows * cols);
    trace.showFilter(weights, map, rows, cols);
  }

  function select(layer, neuron) {
    state.selected = { layer, neuron };
    network.select(layer, neuron);
    const info = model.layers[layer];
    if (!info.explainable && !info.filters) {
      trace.fail(`layers[${layer}] ${info.repr}: its activation is not elementwise, so a neuron's f'(z) is not defined one by one and explain cannot trace it.`);
      return;
    }
    if (state.shown === null && !info.filters) trace.empty(); // a filter's weights show without an input too
    else explainer.request();
    // On a phone the trace is below the network: bring it into view.
    if (window.matchMedia("(max-width: 760px)").matches) byId("trace").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  setUpSamples(parts);
  setUpWeights(parts);
  document.body.dataset.ready = "true";
}

// -- the input ------------------------------------------------------------------------------

/** The drawing pad; `payload()` gives what to send to /api/predict (null: nothing drawn). */
function pixelInput(model, changed) {
  byId("pixels-input").hidden = false;
  const seen = byId("seen");
  const { low, high } = model.input.pixels;
  const plain = (x) => fmt(x).replace(/^\+/, "");
  byId("seen-caption").textContent = "28x28 pixels from 0 (paper) to 255 (ink)" +
    (low === 0 && high === 255 ? "" : `, given to it as inputs from ${plain(low)} to ${plain(high)}`);
  const undo = byId("undo");
  undo.disabled = true;
  const pad = new DrawingPad(byId("draw"), () => {
    undo.disabled = pad.strokes.length === 0;
    changed();
  });
  undo.addEventListener("click", () => {
    pad.undo();
    undo.disabled = pad.strokes.length === 0;
    changed();
  });
  byId("clear").addEventListener("click", () => {
    pad.reset(null);
    state.sample = null;
    byId("sample-info").textContent = "Pick one to see what the network makes of it.";
    undo.disabled = true;
    changed();
  });
  const centre = byId("centre");
  centre.addEventListener("change", () => {
    pad.centre = centre.checked;
    changed();
  });
  paintInk(seen, new Array(784).fill(0), 28, 28);
  return {
    payload() {
      if (pad.isEmpty()) {
        paintInk(seen, new Array(784).fill(0), 28, 28);
        return null;
      }
      // An untouched sample goes as its own inputs, so the answer is net.predict's on them, bit
      // for bit, whatever scaling the network takes (docs/lab.md, "Pixels and inputs").
      if (state.sample !== null && pad.strokes.length === 0) {
        paintInk(seen, state.sample.pixels, 28, 28);
        return { inputs: state.sample.inputs };
      }
      const pixels = Array.from(pad.pixels());
      paintInk(seen, pixels, 28, 28);
      return { pixels };
    },
    load(sample) {
      pad.reset(sample.pixels);
      undo.disabled = true;
      changed();
    },
  };
}

/** The input-vector editor, for a network whose input is not 784 pixels. */
function vectorInput(model, changed) {
  const root = byId("vector-input");
  root.hidden = false;
  const editor = new VectorEditor(root, model.input.features, () => {
    state.sample = null;
    changed();
  });
  changed(); // all zeros is an input too: show what the network makes of it
  return {
    payload() {
      if (state.sample !== null) return { inputs: state.sample.inputs }; // as it came, untouched
      const values = editor.values();
      return values === null ? null : { inputs: values };
    },
    load(sample) {
      editor.set(sample.inputs);
      changed();
    },
  };
}

// -- samples ------------------------------------------------------------------------------

function setUpSamples({ model, input }) {
  if (model.samples === null) return;
  byId("samples").hidden = false;
  byId("samples").querySelector("[data-pick=misclassified]").hidden = model.classes === null; // values are not classified
  for (const button of document.querySelectorAll("[data-pick]")) {
    button.addEventListener("click", () => pick(button.dataset.pick).catch(showError));
  }
  async function pick(how) {
    const index = state.sample ? state.sample.index : -1;
    const query = how === "random" ? "pick=random"
      : index < 0 ? (how === "previous" ? "pick=previous&index=0" : `pick=${how}`)
        : `pick=${how}&index=${index}`;
    const sample = await api(`/api/samples?${query}`);
    state.sample = sample;
    byId("sample-info").textContent = `Test sample ${sample.index} of ${sample.count}: label ${label(model, sample.label)}`;
    input.load(sample);
  }
}

/** Once a sample's prediction is in, say whether the network got it right (or that strokes were drawn over it). */
function showSampleVerdict(model, payload, answer) {
  const sample = state.sample;
  if (sample === null) return;
  const info = byId("sample-info");
  const which = `Test sample ${sample.index} of ${sample.count}: label ${label(model, sample.label)}`;
  if (payload.inputs !== sample.inputs) {
    info.textContent = `${which}, with your strokes over it`;
  } else if (answer.label !== null) {
    const right = answer.label === sample.label;
    info.replaceChildren(`${which}, the network says ${label(model, answer.label)} `,
      h("span", { class: right ? "right" : "wrong", text: right ? "✓" : "✗ misclassified" }));
  }
}

// -- the prediction -----------------------------------------------------------------------

function showPrediction(model, answer) {
  const shown = byId("prediction");
  const confidence = byId("confidence");
  const list = byId("probabilities");
  if (answer === null) {
    shown.textContent = "–";
    confidence.textContent = "nothing to predict yet";
    list.replaceChildren();
    return;
  }
  shown.classList.toggle("is-value", answer.label === null);
  if (answer.label === null) { // one output read as a value
    shown.textContent = fmt(answer.probabilities[0]);
    confidence.textContent = "the network's output";
    list.replaceChildren();
    return;
  }
  shown.textContent = label(model, answer.label);
  const probabilities = model.loss !== "mse"; // an MSE network's outputs are not probabilities
  // One sigmoid output is the probability of class 1; class 0 has the rest.
  const perClass = answer.probabilities.length === 1 ? [1 - answer.probabilities[0], answer.probabilities[0]] : answer.probabilities;
  confidence.textContent = probabilities ? `${percent(perClass[answer.label])} sure` : "the largest output";
  const limit = Math.max(...perClass.map(Math.abs), 1e-12);
  const rows = perClass.map((p, k) => {
    const share = probabilities ? p : Math.abs(p) / limit;
    return h("li", { class: k === answer.label ? "is-predicted" : "", "data-class": k },
      h("span", { class: "class-label", text: label(model, k) }),
      h("span", { class: "track" }, h("span", { class: "fill", style: { width: `${100 * share}%`, background: css(diverging(0.2 + 0.8 * share)) } })),
      h("span", { class: "value", text: probabilities ? percent(p) : fmt(p) }));
  });
  list.replaceChildren(...rows);
}

/** A class by its label; a target of a network without classes (a value) as the text writes numbers. */
function label(model, k) {
  return model.class_labels ? model.class_labels[k] : fmt(k);
}

// -- weights and training -------------------------------------------------------------------

/** The first layer's weight pictures (hover and training panel), and the training panel, which says when they change. */
function setUpWeights({ model, network, predictor }) {
  const layer = pictureLayer(model);
  let last = -Infinity;
  let timer = null;
  const refresh = () => {
    if (layer === null) return;
    const wait = last + WEIGHTS_EVERY - performance.now();
    if (wait > 0) { // at most one refresh per WEIGHTS_EVERY while training, and always the last one
      clearTimeout(timer);
      timer = setTimeout(refresh, wait);
      return;
    }
    last = performance.now();
    fetchWeightImages(layer).then((images) => {
      network.setWeightImages(images);
      byId("tiles").hidden = false;
      const count = drawTiles(byId("weight-tiles"), images);
      byId("tiles-caption").textContent = `Incoming weights of ${count < layer.units ? `neurons 0–${count - 1} of ` : "the neurons of "}` +
        `layers[${layer.index}], each on its own scale (red: ink there raises z, blue: lowers it)`;
    }, showError);
  };
  refresh();
  new TrainingPanel(model, (status) => {
    predictor.request(); // new weights: the same input gives new activations (and a new trace)
    refresh();
    if (!status.running) { // a run ended: the header names the optimizer it left
      api("/api/model").then((described) => { byId("model-summary").textContent = summary(described); }, showError);
    }
  }, showError);
}

// -- the header and errors ----------------------------------------------------------------

/** "784 inputs → Rescale → Dense 128 relu → ... · loss cross_entropy · 109,386 parameters" (Conv2D: "Conv2D 8 relu", its maps). */
function summary(model) {
  const layers = model.layers.map((layer) => (layer.neurons ? `${layer.units} ${layer.activation}`
    : layer.filters ? `${layer.class} ${layer.shape[0]} ${layer.activation}` : layer.class));
  const parameters = model.layers.reduce((total, layer) => total + layer.parameters, 0);
  return [`${model.input.features} inputs → ${layers.join(" → ")}`, `loss ${model.loss}`,
    `${parameters.toLocaleString("en")} parameters`, model.optimizer ? model.optimizer.replace(/,.*$/, ")") : "not trained"].join(" · ");
}

/** One layer's activations from POST /api/predict's base64 answer: its little-endian bytes as a Float32Array (or Float64Array). */
function decoded({ dtype, data }) {
  const text = atob(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  // Typed arrays read the machine's byte order: little-endian on every platform a browser runs on today.
  return dtype === "float32" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
}

function showError(error) {
  byId("error").hidden = !error;
  byId("error-text").textContent = error ? String(error.message || error) : "";
}

main().catch(showError);
