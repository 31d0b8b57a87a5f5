// The first hidden layer's incoming weights, as 28x28 pictures: shown when hovering one of its
// neurons, and all together in the training panel, where they change as the network learns.
//
// GET /api/weight-images sends each neuron's weights as signed bytes scaled to its own largest
// |w| (q = round(127 w / max|w|)): a fraction of the JSON, and each picture keeps its own
// colour range, as nl.plots.plot_weights draws them.

import { api } from "./api.js";
import { diverging } from "./colors.js";

const TILE = 28;
const GAP = 2;
const MAX_TILES = 128; // the training panel shows the first 128 neurons of a wider layer

/** The first Dense layer that takes the 784 pixels, or null: its neurons' weights are pictures. */
export function pictureLayer(model) {
  return model.layers.find((layer) => layer.neurons && layer.in_features === 784) ?? null;
}

/** GET /api/weight-images for every neuron of `layer`, decoded: {layer, count, in_features, data: Int8Array}. */
export async function fetchWeightImages(layer) {
  const answer = await api(`/api/weight-images?layer=${layer.index}`);
  const bytes = atob(answer.data);
  const data = new Int8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes.charCodeAt(i) << 24 >> 24; // the byte as signed
  return { layer: answer.layer, count: answer.count, in_features: answer.in_features, data };
}

/** Draw the first MAX_TILES neurons' pictures on `canvas`, in rows; returns how many were drawn. */
export function drawTiles(canvas, images) {
  const count = Math.min(images.count, MAX_TILES);
  const columns = Math.min(16, 2 ** Math.ceil(Math.log2(Math.sqrt(2 * count)))); // about twice as wide as tall
  const rows = Math.ceil(count / columns);
  canvas.width = columns * (TILE + GAP) - GAP;
  canvas.height = rows * (TILE + GAP) - GAP;
  const context = canvas.getContext("2d");
  const picture = context.createImageData(canvas.width, canvas.height);
  picture.data.fill(255); // white gaps
  for (let j = 0; j < count; j++) {
    const left = (j % columns) * (TILE + GAP);
    const top = Math.floor(j / columns) * (TILE + GAP);
    for (let i = 0; i < TILE * TILE; i++) {
      const [r, g, b] = diverging(images.data[j * images.in_features + i] / 127);
      const at = 4 * ((top + Math.floor(i / TILE)) * canvas.width + left + (i % TILE));
      picture.data[at] = r;
      picture.data[at + 1] = g;
      picture.data[at + 2] = b;
    }
  }
  context.putImageData(picture, 0, 0);
  return count;
}
