// The trace panel: one neuron's backpropagation on the current input, as net.explain gives it.
//
// POST /api/explain answers with NeuronTrace.to_dict() and, asked for it, the text that
// print(net.explain(...)) shows. The panel shows both: a structured view (the four equations
// with their numbers, the largest terms drawn as bars, and for a first-layer neuron its
// gradient as an image over the digit) and the text itself, as Python prints it. Every number
// is written as the text writes it (format.js), so the two can be read side by side.
//
// A Conv2D filter has no trace (explain traces Dense neurons): for one, the panel shows its
// weights (GET /api/weights) and its feature map on the input.

import { css, diverging, largestAbs, paint, paintInk, paintOver, paintSigned } from "./colors.js";
import { h } from "./dom.js";
import { fmt } from "./format.js";

/**
 * Arithmetic as NumPy does it in a layer's float type. The trace's arrays are the layer's own
 * (float32 by default), and the text computes a few numbers from them: w_kj * delta_k and
 * w + change in float32, rounded to float32 after each operation; z - b too with NumPy 2, whose
 * float32 scalars stay float32 (NumPy 1 makes them float64). JavaScript computes in float64;
 * rounding its result to float32 (Math.fround) gives NumPy's float32 result, so the page shows
 * the text's digits, not a neighbour.
 */
function arithmetic(dtype) {
  if (dtype === "float32") return Math.fround;
  if (dtype === "float16" && Math.f16round) return Math.f16round;
  return (x) => x;
}

/** The indices of the `top` largest |values|, largest first, ties in index order (as explain's _largest). */
function largest(values, top) {
  const order = values.map((_, i) => i);
  order.sort((i, j) => Math.abs(values[j]) - Math.abs(values[i]));
  return order.slice(0, top);
}

export class TracePanel {
  /**
   * @param {HTMLElement} root  the panel (data-testid="trace")
   * @param {object} model  GET /api/model's answer
   * @param {function(?number)} onTarget  called with the chosen target (null: the predicted class)
   */
  constructor(root, model, onTarget) {
    this.root = root;
    this.model = model;
    this.body = root.querySelector(".trace-body");
    this.title = root.querySelector(".trace-title");
    this.targetHolder = root.querySelector(".trace-target");
    this.target = this.targetControl(this.targetHolder, onTarget);
    this.textOpen = true; // the text under the structured view, open until the learner closes it
    this.empty();
  }

  /** The target chooser: "predicted" or a class (or, for a network whose output is a value, a number). */
  targetControl(holder, onTarget) {
    let control;
    if (this.model.classes !== null) {
      control = h("select", { id: "target", "data-testid": "target", "aria-label": "target label" },
        h("option", { value: "", text: "the predicted class" }),
        this.model.class_labels.map((label, k) => h("option", { value: k, text: `class ${label}` })));
      control.addEventListener("change", () => onTarget(control.value === "" ? null : Number(control.value)));
    } else {
      control = h("input", {
        id: "target", "data-testid": "target", type: "number", step: "any", placeholder: "the sample's", "aria-label": "target value",
      });
      control.addEventListener("change", () => onTarget(this.chosenTarget()));
    }
    holder.replaceChildren(h("label", { for: "target", text: "target " }), control);
    return control;
  }

  /** The target to send: the chosen one, or null for the predicted class. */
  chosenTarget() {
    const text = this.target.value.trim();
    return text === "" || !Number.isFinite(Number(text)) ? null : Number(text);
  }

  /** Say what the predicted class is, in the chooser's first option. */
  setPredicted(label) {
    if (this.model.classes === null) return;
    this.target.options[0].textContent = label === null ? "the predicted class" : `the predicted class (${this.model.class_labels[label]})`;
  }

  layerArithmetic(index) {
    return arithmetic(this.model.layers[index].dtype);
  }

  empty() {
    this.setState("empty");
    this.showTarget(true);
    this.title.textContent = "Backpropagation of one neuron";
    const maps = this.model.layers.some((layer) => layer.filters) ? " (or a feature map of a Conv2D layer, for its filter)" : "";
    this.body.replaceChildren(
      h("p", { class: "hint", text: `Draw a digit (or pick a sample), then click a neuron of a Dense layer${maps}.` }),
      h("p", { class: "muted", text: "You will see its z and a on this input, then the four equations of backpropagation " +
        "with this input's numbers: where its error delta = dC/dz comes from (BP1 at the output layer, BP2 from the next " +
        "layer's errors), and the gradients of its bias (BP3) and weights (BP4), the same numbers as print(net.explain(...)) in Python." }));
  }

  fail(message) {
    this.setState("error");
    this.showTarget(true);
    this.body.replaceChildren(h("p", { class: "error", text: message }));
  }

  setState(state, trace = null, target = null) {
    const data = this.root.dataset;
    data.state = state;
    data.layer = trace ? trace.layer : "";
    data.neuron = trace ? trace.neuron : "";
    data.target = target === null ? "" : target;
  }

  /**
   * Show a trace: POST /api/explain's answer (with "text").
   * @param {number|null} target  the target it was computed against
   */
  show(trace, target) {
    this.setState("ready", trace, target);
    this.showTarget(true);
    const layer = this.model.layers[trace.layer];
    this.title.textContent = `Neuron ${trace.neuron} of layers[${trace.layer}]`;
    const targetText = this.model.class_labels ? `class ${this.model.class_labels[target]}` : fmt(target);
    this.body.replaceChildren(
      h("p", { class: "description", "data-testid": "trace-description", text: trace.description }),
      h("p", { class: "muted", text: `backpropagated against the target ${targetText}, on the input shown (N = 1 sample)` }),
      this.forward(trace),
      trace.equation === "BP1" ? this.bp1(trace) : this.bp2(trace),
      this.gradients(trace, layer),
      this.update(trace),
      this.text(trace));
  }

  /** The target chooser is for a trace; a filter has none. */
  showTarget(shown) {
    this.targetHolder.hidden = !shown;
  }

  /**
   * Show Conv2D filter `answer.neuron`: GET /api/weights's answer (its weights (C, kh, kw), flat
   * in C order, and its bias) and its feature map `map` on the input shown (rows x cols values,
   * row by row; null without an input).
   */
  showFilter(answer, map, rows, cols) {
    const { layer, neuron } = answer;
    this.setState("filter", { layer, neuron });
    this.showTarget(false);
    this.title.textContent = `Filter ${neuron} of layers[${layer}]`;
    this.body.replaceChildren(
      h("p", { class: "description", "data-testid": "filter-description", text: `filter ${neuron} of layers[${layer}] ${this.model.layers[layer].repr}` }),
      h("p", { class: "muted", text: "A filter is one neuron shared by every position of its map: at row i, column j, " +
        "z = w . (the patch of the input there) + b and a = f(z). explain traces Dense neurons; in Python this filter is " +
        `net.layers[${layer}].neurons[${neuron}], with its weights and its z, a and delta maps.` }),
      this.filterWeights(answer),
      this.featureMap(map, rows, cols));
  }

  /** The weights as one kh x kw picture per input channel, all on the filter's one scale, and the bias. */
  filterWeights({ weights, shape: [channels, kh, kw], bias }) {
    const limit = largestAbs(weights);
    const pictures = [];
    for (let c = 0; c < channels; c++) {
      const canvas = h("canvas", { "data-testid": `filter-weights-${c}`, "aria-label": `weights of input channel ${c}` });
      paint(canvas, weights.slice(c * kh * kw, (c + 1) * kh * kw), kh, kw, (w) => diverging(w / limit));
      pictures.push(h("figure", {}, canvas, h("figcaption", { text: `c ${c}` })));
    }
    return section("weights", "",
      row("b", value(bias)),
      row("w", h("span", { text: `${channels} x ${kh} x ${kw} values: one ${kh}x${kw} picture per input channel c, on one scale ±${fmt(limit).slice(1)}` })),
      h("div", { class: "filter-weights", "data-testid": "filter-weights", style: { "--weight": channels <= 4 ? "72px" : "40px" } }, pictures));
  }

  /** The map on the input shown: a picture on its own scale, where it is largest, and every number. */
  featureMap(map, rows, cols) {
    if (map === null) return section("feature map", "", h("p", { class: "muted", text: "Draw a digit (or pick a sample) to see this filter's map." }));
    const limit = largestAbs(map);
    const canvas = h("canvas", { class: "filter-map", "data-testid": "filter-map" });
    paint(canvas, map, rows, cols, (v) => diverging(v / limit));
    let at = 0;
    for (let i = 1; i < map.length; i++) if (map[i] > map[at]) at = i;
    const active = map.filter((v) => v > 0).length;
    const texts = Array.from(map, fmt);
    const width = texts.reduce((widest, text) => Math.max(widest, text.length), 0) + 2; // columns of one width, as NumPy prints
    const numbers = [];
    for (let i = 0; i < rows; i++) numbers.push(texts.slice(i * cols, (i + 1) * cols).map((text) => text.padStart(width)).join(""));
    return section("feature map", "",
      h("div", { class: "filter-map-row" }, canvas,
        h("div", {},
          row("largest a", h("span", {}, value(map[at]), ` at row ${Math.floor(at / cols)}, column ${at % cols}`)),
          row("active (a > 0)", h("span", { text: `${active} of ${map.length}` })),
          h("p", { class: "muted", text: `${rows}x${cols}, on its own scale ±${fmt(limit).slice(1)}` }))),
      h("details", { class: "trace-text" },
        h("summary", { text: `Its ${map.length} numbers a, row by row` }),
        h("pre", { "data-testid": "filter-map-numbers", text: numbers.join("\n") })));
  }

  /** The trace as Python prints it, in a box that stays open or closed as the learner left it. */
  text(t) {
    const details = h("details", { class: "trace-text", open: this.textOpen },
      h("summary", { text: "As print(net.explain(x, target, layer, neuron)) shows it" }),
      h("pre", { "data-testid": "trace-text", text: t.text }));
    details.addEventListener("toggle", () => { this.textOpen = details.open; });
    return details;
  }

  forward(t) {
    const z = t.z[0];
    const scalars = Number(this.model.numpy.split(".")[0]) >= 2 ? this.layerArithmetic(t.layer) : (x) => x;
    const active = t.inputs[0].filter((v) => v !== 0).length;
    return section("forward", "",
      row("inputs a^(l-1)", h("span", { text: `${t.inputs[0].length} values (${active} non-zero)` })),
      row("z = w . a^(l-1) + b", sum([value(scalars(z - t.bias)), value(t.bias)], value(z, "trace-z"))),
      row("a = f(z)", value(t.a[0], "trace-a")),
      row("f'(z)", value(t.f_prime[0], "trace-f-prime")));
  }

  bp1(t) {
    const terms = t.output_terms;
    const known = ["p", "y"].filter((key) => key in terms)
      .map((key) => h("span", { class: "term" }, `${key} = `, h("span", { "data-testid": `trace-${key}`, text: fmt(terms[key][0]) })));
    return section("error delta = dC/dz", "BP1",
      h("p", { class: "equation", text: "delta = dC/da * f'(z)   (output layer)" }),
      row(`dC/da = ${terms.form || "from the loss"}`, h("span", {}, value(t.grad_a[0], "trace-grad-a"), " ", ...known)),
      row("delta = dC/da * f'(z)", product([value(t.grad_a[0]), value(t.f_prime[0])], value(t.delta[0], "trace-delta"))));
  }

  bp2(t) {
    const parts = [h("p", { class: "equation", text: "delta = (sum_k w_kj delta_k) * f'(z)   (hidden layer)" })];
    if (t.next_weights === null) {
      parts.push(row(`dC/da (through layers[${t.layer + 1}])`, value(t.grad_a[0], "trace-grad-a")));
    } else {
      const round = this.layerArithmetic(t.next_layer);
      const terms = t.next_weights.map((w, k) => round(t.next_delta[0][k] * w));
      parts.push(
        row("dC/da = sum_k w_kj delta_k", value(t.grad_a[0], "trace-grad-a")),
        h("p", { class: "muted", text: `the sum is over the ${terms.length} neurons k of layers[${t.next_layer}]; its largest terms:` }),
        termTable(largest(terms, t.top), ["w_kj", "delta_k", "w_kj * delta_k"],
          (k) => [t.next_weights[k], t.next_delta[0][k], terms[k]], "trace-bp2-term"));
    }
    parts.push(row("delta = dC/da * f'(z)", product([value(t.grad_a[0]), value(t.f_prime[0])], value(t.delta[0], "trace-delta"))));
    return section("error delta = dC/dz", "BP2", ...parts);
  }

  gradients(t, layer) {
    const g = t.grad_weights;
    const parts = [
      row("BP3  dC/db = delta", value(t.grad_bias, "trace-grad-bias")),
      row("BP4  dC/dw_k = a_k * delta", h("span", { text: `${g.length} values; the largest:` })),
      termTable(largest(g, t.top), ["a_k", "delta", "a_k * delta"], (k) => [t.inputs[0][k], t.delta[0], g[k]], "trace-grad-w"),
    ];
    if (t.f_prime[0] === 0) {
      parts.push(h("p", { class: "note", text: "f'(z) = 0 here (the neuron is off on this input), so delta = 0: no error flows " +
        "through it, and its bias and weights get no gradient from this input." }));
    }
    if (g.length === 784 && layer.in_features === 784) parts.push(this.pictures(t));
    return section("gradients", "BP3, BP4", ...parts);
  }

  /** A first-layer neuron: its input, its weights, and its weight gradient over the digit, as 28x28 images. */
  pictures(t) {
    const input = h("canvas", { class: "picture" });
    const weights = h("canvas", { class: "picture" });
    const gradient = h("canvas", { class: "picture", "data-testid": "trace-gradient-image" });
    paintInk(input, t.inputs[0], 28, 28, largestAbs(t.inputs[0]));
    paintSigned(weights, t.weights, 28, 28);
    paintOver(gradient, t.inputs[0], t.grad_weights, 28, 28);
    const sign = t.delta[0] > 0 ? "delta > 0: the step lowers these weights" : t.delta[0] < 0
      ? "delta < 0: the step raises these weights" : "delta = 0: no gradient";
    return h("div", { class: "pictures" },
      figure(input, "input a^(l-1)", "the digit"),
      figure(weights, "weights w", "what the neuron looks for"),
      figure(gradient, "dC/dw = a * delta", sign));
  }

  update(t) {
    if (t.optimizer === null) {
      return section("update", "", h("p", { class: "muted", text: "none shown: the network has no optimizer yet (train it once)" }));
    }
    const change = (name, before, delta, round) =>
      h("tr", { "data-testid": "trace-update", "data-name": name }, h("td", { class: "term-k", text: name }), h("td", { class: "num", text: fmt(before) }),
        h("td", { class: "num", text: `-> ${fmt(round(before + delta))}` }), h("td", { class: "num", text: fmt(delta) }));
    const rows = [change("b", t.bias, t.update_bias, (x) => x)]; // the bias and its change are Python floats
    for (const k of largest(t.update_weights, Math.min(t.top, 3))) {
      rows.push(change(`w_${k}`, t.weights[k], t.update_weights[k], this.layerArithmetic(t.layer)));
    }
    return section("update", "",
      h("p", { class: "muted", text: `what one step of ${t.optimizer} would change (its largest weight changes):` }),
      h("div", { class: "term-table" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}), h("th", { text: "now" }), h("th", { text: "after" }), h("th", { text: "change" }))),
        h("tbody", {}, rows))));
  }
}

function section(title, equation, ...children) {
  return h("section", { class: "trace-section" },
    h("h3", {}, title, equation ? h("span", { class: "badge", text: equation }) : null), ...children);
}

function row(label, content) {
  return h("div", { class: "trace-row" }, h("code", { class: "trace-label", text: label }), h("span", { class: "trace-value" }, content));
}

/** A number as the text writes it; `testid` marks the ones the tests read. */
function value(x, testid) {
  return h("span", { class: testid ? "num key" : "num", "data-testid": testid, text: fmt(x) });
}

/** "a b = c", as the text writes a sum. */
function sum(terms, result) {
  return h("span", {}, ...terms.flatMap((t) => [t, " "]), "= ", result);
}

function product([a, b], result) {
  return h("span", {}, a, " * ", b, " = ", result);
}

/**
 * The terms `order` as a table: k, the two factors, their product, and the product as a signed
 * bar around a zero line (red positive, blue negative, the largest the full half-width).
 */
function termTable(order, names, row, testid) {
  const rows = order.map((k) => ({ k, values: row(k) }));
  const limit = largestAbs(rows.map((r) => r.values[2]));
  const head = h("tr", {}, h("th", { text: "k" }), names.map((name) => h("th", { text: name })), h("th", { "aria-label": "bar" }));
  const body = rows.map(({ k, values }) => {
    const term = values[2];
    const bar = h("span", {
      class: `bar ${term < 0 ? "negative" : "positive"}`,
      style: { width: `${50 * Math.abs(term) / limit}%`, background: css(diverging(term < 0 ? -0.7 : 0.7)) },
    });
    return h("tr", { "data-testid": testid, "data-k": k },
      h("td", { class: "term-k", text: String(k) }),
      values.map((v, i) => h("td", { class: i === 2 ? "num term" : "num", text: fmt(v) })),
      h("td", { class: "term-track" }, bar));
  });
  return h("div", { class: "term-table" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

function figure(canvas, title, caption) {
  return h("figure", {}, canvas, h("figcaption", {}, h("code", { text: title }), h("span", { class: "muted", text: caption })));
}
