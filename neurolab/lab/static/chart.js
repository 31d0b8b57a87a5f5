// Loss and accuracy curves, drawn on a canvas by hand (the page loads no plotting library).

import { short } from "./format.js";

export const LOSS_COLOUR = "#c2410c";
export const ACCURACY_COLOUR = "#2166ac";
const PAD = { left: 44, right: 40, top: 12, bottom: 26 };

/**
 * Draw the curves of GET /api/train/status on `canvas`, as wide as its box.
 *
 * @param {Array} points  batch points [step, epoch, loss, accuracy]: the epoch's running means after each batch
 * @param {Array} epochs  epoch points {step, loss, accuracy, ...}: the epoch's logs, drawn as dots
 * @param {number} end  the last step of the run going on (0 if none): the axis reaches it from the start, so the curve grows to the right
 *
 * The running means start again with each epoch, so each epoch is its own line. Loss is on
 * the left axis, from 0; accuracy on the right, from 0 to 1.
 */
export function drawCurves(canvas, points, epochs, end = 0) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = "11px system-ui, sans-serif";

  const plotWidth = width - PAD.left - PAD.right;
  const plotHeight = height - PAD.top - PAD.bottom;
  const steps = Math.max(1, end, ...points.map((p) => p[0]), ...epochs.map((e) => e.step));
  const losses = points.map((p) => p[2]).concat(epochs.map((e) => e.loss)).filter((v) => v !== null);
  const top = 4 * niceCeiling(Math.max(1e-9, ...losses) / 4); // four grid steps of a round size, as the accuracy's 25%
  const x = (step) => PAD.left + (step / steps) * plotWidth;
  const yLoss = (v) => PAD.top + plotHeight * (1 - v / top);
  const yAccuracy = (v) => PAD.top + plotHeight * (1 - v);

  // The frame, horizontal grid lines and both axes' labels.
  g.strokeStyle = "#e5e7eb";
  g.fillStyle = "#6b7280";
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + (plotHeight * i) / 4;
    g.beginPath();
    g.moveTo(PAD.left, y + 0.5);
    g.lineTo(PAD.left + plotWidth, y + 0.5);
    g.stroke();
    if (points.length === 0) continue; // no numbers on the axes before there is anything to read
    g.textAlign = "right";
    g.fillText(short(top * (1 - i / 4)), PAD.left - 6, y + 4);
    g.textAlign = "left";
    g.fillText(`${100 - 25 * i}%`, PAD.left + plotWidth + 6, y + 4);
  }
  g.textAlign = "center";
  g.fillText(points.length ? `optimizer steps (0 to ${steps})` : "optimizer steps", PAD.left + plotWidth / 2, height - 6);
  if (points.length === 0) {
    g.fillText("no training yet", PAD.left + plotWidth / 2, PAD.top + plotHeight / 2);
    return;
  }

  // Each epoch starts a new line: the values are running means over the epoch so far.
  const curve = (index, y, colour) => {
    g.strokeStyle = colour;
    g.lineWidth = 1.75;
    g.beginPath();
    let previous = null;
    for (const p of points) {
      if (p[index] === null) {
        previous = null;
        continue;
      }
      if (previous === null || previous[1] !== p[1]) g.moveTo(x(p[0]), y(p[index]));
      else g.lineTo(x(p[0]), y(p[index]));
      previous = p;
    }
    g.stroke();
  };
  curve(2, yLoss, LOSS_COLOUR);
  curve(3, yAccuracy, ACCURACY_COLOUR);
  for (const e of epochs) {
    dot(g, x(e.step), yLoss(e.loss), LOSS_COLOUR);
    if (e.accuracy !== null && e.accuracy !== undefined) dot(g, x(e.step), yAccuracy(e.accuracy), ACCURACY_COLOUR);
  }
}

function dot(g, x, y, colour) {
  g.fillStyle = colour;
  g.beginPath();
  g.arc(x, y, 3, 0, 2 * Math.PI);
  g.fill();
}

/** The smallest round number >= v: 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten. */
function niceCeiling(v) {
  const power = 10 ** Math.floor(Math.log10(v));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * power).find((c) => c >= v * (1 - 1e-12));
}
