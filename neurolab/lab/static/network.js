// The network view: one card per layer of net.layers, each neuron a cell shaded by its
// activation on the current input. Click a cell for its backpropagation; hover a neuron of the
// first hidden layer for its incoming weights, drawn as the 28x28 image it responds to.
// A layer whose output is a stack of images (C, H, W) (Conv2D, MaxPool2D, Reshape, RandomShift)
// is a grid of C small pictures, its feature maps; click a Conv2D's map for its filter.

import { css, diverging, divergingGradient, ink, isDark, largestAbs, paint, paintInk } from "./colors.js";
import { h } from "./dom.js";
import { fmt, percent } from "./format.js";

const CELL = 22; // the largest a cell gets, in CSS pixels; on a narrow screen they shrink
const MAX_COLUMNS = 32;
const DIGIT = 84; // CSS pixels of a 28x28 input picture
const MAP_COLUMNS = 8;
const MAP_GAP = 3; // CSS pixels between two maps, as in lab.css

/** Whether one sample of this shape is the 28x28 digit: 784 values, 28x28, or one channel of 28x28. */
function isDigit(shape) {
  return shape.reduce((a, b) => a * b, 1) === 784 && (shape.length === 1 || (shape.at(-1) === 28 && shape.at(-2) === 28));
}

/** [C, H, W] of a layer whose output is a stack of images (an (H, W) output is one image), else null. */
export function mapsOf(layer) {
  if (layer.shape.length === 3) return layer.shape;
  if (layer.shape.length === 2) return [1, ...layer.shape];
  return null;
}

/** Columns for a grid of `units` cells: one row up to 16, else about twice as wide as tall (a power of 2). */
function columnsFor(units) {
  if (units <= 16) return units;
  return Math.min(MAX_COLUMNS, 2 ** Math.ceil(Math.log2(Math.sqrt(2 * units))));
}

export class NetworkView {
  /**
   * @param {HTMLElement} root  where the layer cards go
   * @param {object} model  GET /api/model's answer
   * @param {function(number, number)} onSelect  called with (layer, neuron) when a neuron is clicked
   */
  constructor(root, model, onSelect) {
    this.model = model;
    this.onSelect = onSelect;
    this.tooltip = document.getElementById("tooltip");
    this.activations = null;
    this.probabilities = null;
    this.selected = null;
    this.weightImages = null; // the first hidden layer's weights, for hovering: {layer, count, in_features, data}
    this.last = model.layers.length - 1;
    // Layers before the first with parameters pass the input on (rescaled, reshaped): shown as the digit, in ink.
    const first = model.layers.findIndex((layer) => layer.parameters > 0);
    this.firstWithParameters = first < 0 ? model.layers.length : first;
    this.cards = model.layers.map((layer) => this.card(layer));
    root.replaceChildren(legend(), ...this.cards.map((card) => card.element));
  }

  /** The card of one layer: a title, a caption with its scale, and its cells (or an image). */
  card(layer) {
    const isOutput = layer.index === this.last;
    const title = h("h3", {},
      h("span", { class: "layer-index", text: `layers[${layer.index}]` }), " ",
      h("span", { class: "layer-repr", text: layer.repr }));
    const caption = h("p", { class: "layer-caption muted" });
    const card = { layer, isOutput, caption, cells: [], image: null, maps: null };
    let body;
    const maps = mapsOf(layer);
    if (maps) {
      body = this.mapGrid(card, maps);
    } else if (!layer.neurons && isDigit(layer.shape)) {
      // An input-sized layer (Rescale): its values are the image, not neurons to click.
      card.image = h("canvas", { class: "layer-image", width: 28, height: 28, "aria-label": `layers[${layer.index}] as a 28x28 image` });
      body = card.image;
    } else {
      const columns = columnsFor(layer.units);
      body = h("div", {
        class: `cells${isOutput ? " output" : ""}${layer.neurons ? "" : " inert"}`,
        style: { "--columns": columns, maxWidth: `${columns * (isOutput ? 44 : CELL)}px` },
      });
      for (let j = 0; j < layer.units; j++) {
        // An output neuron is labelled by its class; one sigmoid output stands for class 1.
        const single = layer.units === 1 && this.model.classes === 2;
        const label = isOutput && this.model.class_labels ? this.model.class_labels[single ? 1 : j] : null;
        const cell = layer.neurons
          ? h("button", {
            type: "button", class: "cell", "data-testid": `neuron-${layer.index}-${j}`,
            "data-layer": layer.index, "data-neuron": j, "aria-label": `layers[${layer.index}] neuron ${j}`,
          }, label ?? "")
          : h("span", { class: "cell" });
        card.cells.push(cell);
        body.append(cell);
      }
      if (layer.neurons) {
        body.addEventListener("click", (event) => {
          const cell = event.target.closest(".cell");
          if (cell) this.onSelect(layer.index, Number(cell.dataset.neuron));
        });
      }
      body.addEventListener("pointerover", (event) => {
        // Hover is for a mouse: on a touch screen a tap selects, and the trace shows the weights.
        const cell = event.target.closest(".cell");
        if (cell && event.pointerType === "mouse") this.hover(card, card.cells.indexOf(cell), cell);
      });
      body.addEventListener("pointerleave", () => this.hideTooltip());
    }
    const kind = card.maps ? `${maps[0]} map${maps[0] === 1 ? "" : "s"} of ${maps[1]}x${maps[2]}`
      : layer.neurons ? `${layer.units} neurons` : `${layer.units} values`;
    const activation = layer.activation ? `, ${layer.activation}` : "";
    card.element = h("section", { class: `layer${isOutput ? " is-output" : ""}`, "data-layer": layer.index },
      h("header", {}, title, h("span", { class: "layer-size muted", text: `${kind}${activation}` })), body, caption);
    caption.textContent = this.restingCaption(card);
    return card;
  }

  /**
   * The feature maps of a (C, H, W) output: C small canvases of H x W, one canvas pixel per value.
   * A Conv2D's maps are buttons (click: the filter that made it); others are pictures.
   */
  mapGrid(card, [channels, rows, cols]) {
    const layer = card.layer;
    card.maps = { channels, rows, cols, ink: layer.index < this.firstWithParameters };
    // Rows of up to 8 maps, each at most `size` CSS pixels across (they shrink on a narrow screen).
    const size = card.maps.ink && rows === 28 ? DIGIT : Math.max(36, Math.min(56, 2 * cols));
    const columns = Math.min(channels, MAP_COLUMNS);
    const body = h("div", {
      class: `maps${layer.filters ? "" : " inert"}`,
      style: { "--columns": columns, maxWidth: `${columns * (size + MAP_GAP) - MAP_GAP}px` },
    });
    for (let c = 0; c < channels; c++) {
      const canvas = h("canvas", { width: cols, height: rows, "data-testid": `map-${layer.index}-${c}` });
      const map = layer.filters
        ? h("button", { type: "button", class: "map", "data-neuron": c, "aria-label": `layers[${layer.index}] feature map ${c}` }, canvas)
        : h("span", { class: "map" }, canvas);
      card.cells.push(map);
      body.append(map);
    }
    if (layer.filters) {
      body.addEventListener("click", (event) => {
        const map = event.target.closest(".map");
        if (map) this.onSelect(layer.index, Number(map.dataset.neuron));
      });
    }
    body.addEventListener("pointerover", (event) => {
      const map = event.target.closest(".map");
      if (map && event.pointerType === "mouse") this.hover(card, card.cells.indexOf(map), map);
    });
    body.addEventListener("pointerleave", () => this.hideTooltip());
    return body;
  }

  restingCaption(card) {
    if (card.image) return "no input yet";
    if (card.maps) return card.layer.filters ? "one map per filter; click a map for its filter's weights" : "no input yet";
    if (card.isOutput && this.model.classes !== null) return "one neuron per class; draw a digit to see them";
    return card.layer.neurons ? "click a neuron to see its backpropagation" : "";
  }

  /** Shade every layer for a prediction: POST /api/predict's answer. */
  update(answer) {
    this.activations = answer.activations;
    this.probabilities = answer.probabilities;
    for (const card of this.cards) {
      const values = answer.activations[card.layer.index];
      if (card.image) {
        const high = largestAbs(values);
        paintInk(card.image, values, 28, 28, high);
        card.caption.textContent = `784 values shown as 28x28, from 0 to ${fmt(high).slice(1)}`;
        continue;
      }
      if (card.maps) {
        this.paintMaps(card, values);
        continue;
      }
      // The output layer of a classifier is shaded by the probability of each class (what
      // the prediction is read from); every other layer, and the outputs of an MSE network, by
      // the activation, each layer on its own scale.
      const byProbability = card.isOutput && this.model.classes !== null && this.model.loss !== "mse";
      const shown = byProbability ? answer.probabilities : values;
      const limit = byProbability ? 1 : largestAbs(values);
      card.cells.forEach((cell, j) => {
        const colour = diverging(shown[j] / limit);
        cell.style.background = css(colour);
        cell.classList.toggle("dark", isDark(colour));
      });
      card.caption.textContent = !byProbability ? captionOf(values, limit, card.layer)
        : values.length === 1 ? "shaded by the probability of class 1 (sigmoid of the output); over 50%: class 1"
          : "shaded by probability (softmax of the outputs); the largest is the prediction";
    }
  }

  /**
   * Paint each map of `values` (the layer's output flattened in C order: map by map, row by row)
   * on its canvas, all on the layer's one scale: the input's maps in ink from 0 to their largest
   * value, the others on the diverging scale of the cells, ±the largest |a| of the layer.
   */
  paintMaps(card, values) {
    const { channels, rows, cols, ink: asInk } = card.maps;
    const limit = largestAbs(values);
    const colour = asInk ? (v) => ink(v / limit) : (v) => diverging(v / limit);
    const size = rows * cols;
    for (let c = 0; c < channels; c++) {
      paint(card.cells[c].firstChild, values.subarray(c * size, (c + 1) * size), rows, cols, colour);
    }
    const what = `${channels} map${channels === 1 ? "" : "s"} of ${rows}x${cols}`;
    card.caption.textContent = asInk ? `${what}, the input as the next layer gets it: from 0 (white) to ${fmt(limit).slice(1)} (black)`
      : `${what}, one ${captionOf(values, limit, card.layer)}`;
  }

  /** Forget the activations (a blank canvas): cells back to white. */
  clear() {
    this.activations = this.probabilities = null;
    for (const card of this.cards) {
      if (card.maps) {
        for (const map of card.cells) paint(map.firstChild, [], card.maps.rows, card.maps.cols, () => ink(0));
        card.caption.textContent = this.restingCaption(card);
        continue;
      }
      for (const cell of card.cells) {
        cell.style.background = "";
        cell.classList.remove("dark");
      }
      if (card.image) paint(card.image, new Array(784).fill(0), 28, 28, () => ink(0));
      card.caption.textContent = this.restingCaption(card);
    }
  }

  /** Ring the selected neuron's cell (null: none). */
  select(layer, neuron) {
    if (this.selected) this.selected.classList.remove("selected");
    const card = layer === null ? null : this.cards[layer];
    this.selected = card ? card.cells[neuron] : null;
    if (this.selected) this.selected.classList.add("selected");
  }

  /** The weights of the first hidden layer, for the hover pictures (GET /api/weight-images's answer, decoded). */
  setWeightImages(images) {
    this.weightImages = images;
  }

  hover(card, j, cell) {
    if (card.maps) {
      this.showTooltip(cell, this.mapLines(card, j));
      return;
    }
    const name = `layers[${card.layer.index}] ${card.layer.neurons ? "neuron" : "unit"} ${j}`;
    const single = card.layer.units === 1 && this.model.classes === 2;
    const classText = card.isOutput && this.model.class_labels ? `: class ${this.model.class_labels[single ? 1 : j]}` : "";
    const lines = [h("strong", { text: name + classText })];
    if (this.activations) {
      lines.push(h("div", { text: `a = ${fmt(this.activations[card.layer.index][j])}` }));
      if (card.isOutput && this.model.classes !== null) lines.push(h("div", { text: `probability ${percent(this.probabilities[j])}` }));
    }
    const images = this.weightImages;
    if (images && images.layer === card.layer.index && j < images.count) {
      const picture = h("canvas", { class: "tooltip-image" });
      const row = images.data.subarray(j * images.in_features, (j + 1) * images.in_features);
      paint(picture, row, 28, 28, (q) => diverging(q / 127));
      lines.push(picture, h("div", { class: "muted", text: "incoming weights: red where ink raises z, blue where it lowers it" }));
    }
    if (card.layer.neurons) lines.push(h("div", { class: "muted", text: "click for its backpropagation" }));
    this.showTooltip(cell, lines);
  }

  /** What hovering map `c` of a (C, H, W) layer says: its largest value and where, and what a click shows. */
  mapLines(card, c) {
    const { rows, cols } = card.maps;
    const lines = [h("strong", { text: `layers[${card.layer.index}] map ${c}` })];
    if (this.activations) {
      const map = this.activations[card.layer.index].subarray(c * rows * cols, (c + 1) * rows * cols);
      let at = 0;
      for (let i = 1; i < map.length; i++) if (map[i] > map[at]) at = i;
      lines.push(h("div", { text: `largest a = ${fmt(map[at])}` }), h("div", { text: `at row ${Math.floor(at / cols)}, column ${at % cols}` }));
    }
    if (card.layer.filters) lines.push(h("div", { class: "muted", text: `click for filter ${c}'s weights` }));
    return lines;
  }

  showTooltip(cell, lines) {
    this.tooltip.replaceChildren(...lines);
    this.tooltip.hidden = false;
    // Beside the cell, kept inside the window.
    const box = cell.getBoundingClientRect();
    const tip = this.tooltip.getBoundingClientRect();
    const left = box.right + 8 + tip.width < window.innerWidth ? box.right + 8 : Math.max(4, box.left - 8 - tip.width);
    const top = Math.min(Math.max(4, box.top - 8), window.innerHeight - tip.height - 4);
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${top}px`;
  }

  hideTooltip() {
    this.tooltip.hidden = true;
  }
}

function captionOf(values, limit, layer) {
  const active = values.filter((v) => v > 0).length;
  const relu = layer.activation === "relu" ? `; ${active} of ${values.length} active (a > 0)` : "";
  return `colour scale ±${fmt(limit).slice(1)}, the largest |a| here${relu}`;
}

/** The colour bar shared by every layer. */
function legend() {
  return h("div", { class: "legend" },
    h("span", { text: "negative" }),
    h("span", { class: "legend-bar", style: { background: divergingGradient() } }),
    h("span", { text: "positive" }),
    h("span", { class: "muted", text: "each layer on its own scale" }));
}
