// Colours and small images.
//
// One diverging scale everywhere, the one nl.plots uses for weights (matplotlib's RdBu_r): red
// for positive, blue for negative, near-white for zero. Activations, weights and gradients all
// read the same way. Digits are drawn as nl.plots draws them (gray_r): dark ink on white.

const RDBU_R = [
  "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
  "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f",
].map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));

/** The colour [r, g, b] of `t` in [-1, 1] (clipped): -1 dark blue, 0 near-white, +1 dark red. */
export function diverging(t) {
  const clipped = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0));
  const u = ((clipped + 1) / 2) * (RDBU_R.length - 1);
  const i = Math.min(Math.floor(u), RDBU_R.length - 2);
  const f = u - i;
  return RDBU_R[i].map((c, k) => Math.round(c + f * (RDBU_R[i + 1][k] - c)));
}

/** The colour of ink `t` in [0, 1]: 0 white paper, 1 black ink. */
export function ink(t) {
  const v = Math.round(255 * (1 - Math.max(0, Math.min(1, t))));
  return [v, v, v];
}

export function css([r, g, b]) {
  return `rgb(${r}, ${g}, ${b})`;
}

/** Whether text on this background should be white (the background is dark). */
export function isDark([r, g, b]) {
  return 0.299 * r + 0.587 * g + 0.114 * b < 140;
}

/** The CSS gradient of the diverging scale, for legends. */
export function divergingGradient() {
  const stops = RDBU_R.map((c, i) => `${css(c)} ${(100 * i) / (RDBU_R.length - 1)}%`);
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

/** The largest |v| of `values`, or 1 if they are all 0 (so that dividing by it is safe). */
export function largestAbs(values) {
  let largest = 0;
  for (const v of values) largest = Math.max(largest, Math.abs(v));
  return largest > 0 ? largest : 1;
}

/**
 * Paint `values` (row by row) on `canvas` as a `rows` x `cols` image, one canvas pixel per
 * value, each coloured by `colour(value)`; CSS scales the canvas up (image-rendering: pixelated).
 */
export function paint(canvas, values, rows, cols, colour) {
  canvas.width = cols;
  canvas.height = rows;
  const context = canvas.getContext("2d");
  const image = context.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = colour(values[i], i);
    image.data.set([r, g, b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

/** Weights (or any signed values) as an image on their own symmetric scale, as nl.plots.plot_weights does. */
export function paintSigned(canvas, values, rows, cols) {
  const limit = largestAbs(values);
  paint(canvas, values, rows, cols, (v) => diverging(v / limit));
}

/** A digit: `values` from 0 (paper) to `high` (full ink). */
export function paintInk(canvas, values, rows, cols, high = 255) {
  paint(canvas, values, rows, cols, (v) => ink(v / high));
}

/**
 * Signed values drawn over a digit: the digit in light grey, each pixel tinted by its value's
 * colour, strongly where |value| is large. Used for a first-layer neuron's weight gradient,
 * which is the digit times delta (BP4): where there is no ink there is no gradient.
 */
export function paintOver(canvas, digit, values, rows, cols) {
  const limit = largestAbs(values);
  const high = largestAbs(digit);
  paint(canvas, values, rows, cols, (v, i) => {
    const paper = ink(0.35 * Math.max(0, digit[i]) / high);
    const tint = diverging(v / limit);
    const strength = Math.min(1, Math.abs(v) / limit * 1.5);
    return paper.map((c, k) => Math.round(c + strength * (tint[k] - c)));
  });
}
