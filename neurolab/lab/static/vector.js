// The input-vector editor, for a network whose input is not a 28x28 image: one slider and one
// number per feature (or, for many features, a text box of numbers).

import { h } from "./dom.js";

const SLIDERS_UP_TO = 32; // more features than this get a text box: a wall of sliders helps nobody
const RANGE = 3; // sliders start at -3..3 and widen for a value outside

export class VectorEditor {
  /**
   * @param {HTMLElement} root  where the editor goes (data-testid="vector")
   * @param {number} features  the width of one input
   * @param {function()} onChange  called as a value changes
   */
  constructor(root, features, onChange) {
    this.features = features;
    this.onChange = onChange;
    this.rows = [];
    if (features <= SLIDERS_UP_TO) {
      const list = h("div", { class: "vector-rows" });
      for (let k = 0; k < features; k++) list.append(this.row(k));
      root.replaceChildren(h("p", { class: "hint", text: `This network takes ${features} numbers. Move a slider or type a value.` }), list);
    } else {
      this.text = h("textarea", { rows: 6, spellcheck: "false", "data-testid": "vector-text", "aria-label": "input values" });
      this.text.value = new Array(features).fill(0).join(" ");
      this.text.addEventListener("input", () => this.onChange());
      this.note = h("p", { class: "muted" });
      root.replaceChildren(h("p", { class: "hint", text: `This network takes ${features} numbers: type them, separated by spaces or commas.` }), this.text, this.note);
    }
  }

  row(k) {
    const slider = h("input", { type: "range", min: -RANGE, max: RANGE, step: "any", value: 0, "aria-label": `x${k} slider` });
    const number = h("input", { type: "number", step: "any", value: 0, "data-testid": `input-${k}`, "aria-label": `x${k}` });
    slider.addEventListener("input", () => {
      number.value = Number(Number(slider.value).toFixed(3));
      this.onChange();
    });
    number.addEventListener("input", () => {
      if (number.value === "" || !Number.isFinite(Number(number.value))) return;
      this.widen(slider, Number(number.value));
      slider.value = number.value;
      this.onChange();
    });
    this.rows.push({ slider, number });
    return h("label", { class: "vector-row" }, h("code", { text: `x${k}` }), slider, number);
  }

  widen(slider, value) {
    const reach = Math.max(RANGE, Math.ceil(Math.abs(value)));
    slider.min = -reach;
    slider.max = reach;
  }

  /** The input, as numbers; null (and a note) if the text box does not hold `features` numbers. */
  values() {
    if (this.text) {
      const parts = this.text.value.trim().split(/[\s,]+/).filter((part) => part !== "");
      const values = parts.map(Number);
      const ok = values.length === this.features && values.every(Number.isFinite);
      this.note.textContent = ok ? "" : `${values.length} of ${this.features} numbers${values.every(Number.isFinite) ? "" : " (not all numbers)"}`;
      return ok ? values : null;
    }
    return this.rows.map(({ number }) => (number.value === "" ? 0 : Number(number.value)));
  }

  /** Show these values (a sample's). */
  set(values) {
    if (this.text) {
      this.text.value = values.join(" ");
      return;
    }
    values.forEach((v, k) => {
      const { slider, number } = this.rows[k];
      number.value = v;
      this.widen(slider, v);
      slider.value = v;
    });
  }
}
