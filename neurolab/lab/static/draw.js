// The drawing pad: strokes drawn with a mouse, a finger or a pen, turned into the 28x28 pixels
// (0..255, 255 = full ink) that MNIST is made of.
//
// The network only knows digits as MNIST wrote them: strokes 2-3 pixels wide with soft edges,
// the digit scaled to fit a 20x20 box and placed so that its centre of mass is the image's
// centre. A digit drawn small in a corner is none of those, and a network trained on MNIST
// reads it badly. So, with "centre like MNIST" on, the pad does what MNIST's makers did before
// computing the pixels; the strokes you see stay where you drew them.

const SIZE = 28; // the image is SIZE x SIZE pixels
const SCALE = 10; // canvas pixels per image pixel: strokes are drawn finely, then averaged down
const PEN = 2.6; // stroke width in image pixels, as thick as MNIST's strokes
const BOX = 20; // MNIST's digits fit a 20x20 box...
const MAX_ZOOM = 4; // ...but a dot is not blown up to fill it

export class DrawingPad {
  /**
   * @param {HTMLCanvasElement} canvas  where the strokes are drawn (its width and height: SIZE * SCALE)
   * @param {function(boolean)} onChange  called as the drawing changes; true when a stroke ended
   */
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.onChange = onChange;
    this.strokes = []; // each a list of [x, y] points in image pixels (0..28), so CSS size does not matter
    this.base = null; // a test sample's pixels that the strokes are drawn over, or null
    this.baseImage = null; // the sample as a 28x28 canvas
    this.centre = true;
    this.work = document.createElement("canvas"); // where pixels are computed, out of sight
    this.work.width = this.work.height = SIZE * SCALE;
    canvas.width = canvas.height = SIZE * SCALE;
    this.listen();
    this.render();
  }

  listen() {
    let stroke = null;
    const point = (event) => {
      const box = this.canvas.getBoundingClientRect();
      return [((event.clientX - box.left) / box.width) * SIZE, ((event.clientY - box.top) / box.height) * SIZE];
    };
    this.canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      this.canvas.setPointerCapture(event.pointerId); // keep the stroke when the pen leaves the canvas
      stroke = [point(event)];
      this.strokes.push(stroke);
      this.render();
      this.onChange(false);
    });
    this.canvas.addEventListener("pointermove", (event) => {
      if (stroke === null) return;
      // A fast hand gives few move events; the coalesced ones hold the points in between.
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      for (const each of events.length ? events : [event]) stroke.push(point(each));
      this.render();
      this.onChange(false);
    });
    const end = () => {
      if (stroke === null) return;
      stroke = null;
      this.onChange(true);
    };
    this.canvas.addEventListener("pointerup", end);
    this.canvas.addEventListener("pointercancel", end);
  }

  /** Whether anything is drawn (strokes or a sample). */
  isEmpty() {
    return this.strokes.length === 0 && this.base === null;
  }

  /** Start over from a sample's pixels (784 numbers, 0..255), or from blank paper with null. */
  reset(base) {
    this.base = base === null ? null : Float64Array.from(base, (p) => Math.max(0, Math.min(255, p)));
    this.baseImage = null;
    if (this.base !== null) { // drawn once here, then scaled up at every render
      this.baseImage = document.createElement("canvas");
      this.baseImage.width = this.baseImage.height = SIZE;
      const context = this.baseImage.getContext("2d");
      const image = context.createImageData(SIZE, SIZE);
      this.base.forEach((p, i) => image.data.set([255 - p, 255 - p, 255 - p, 255], 4 * i));
      context.putImageData(image, 0, 0);
    }
    this.strokes = [];
    this.render();
  }

  undo() {
    this.strokes.pop();
    this.render();
  }

  /** The strokes on the visible canvas, over the sample if there is one. */
  render() {
    const context = this.canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.baseImage) {
      context.imageSmoothingEnabled = false; // show the sample's own pixels
      context.drawImage(this.baseImage, 0, 0, this.canvas.width, this.canvas.height);
    }
    drawStrokes(context, this.strokes, "#111");
    if (this.isEmpty()) {
      context.fillStyle = "#9aa3ad";
      context.font = `${this.canvas.width / 14}px system-ui, sans-serif`;
      context.textAlign = "center";
      context.fillText("draw a digit here", this.canvas.width / 2, this.canvas.height / 2);
    }
  }

  /**
   * The image the network gets: 784 numbers, 0..255, row by row. The strokes, centred like
   * MNIST's digits if asked (not over a sample, which is centred already), averaged down to
   * 28x28 (which gives the soft edges), and over the sample the darker of the two.
   */
  pixels() {
    const strokes = this.centre && this.base === null ? this.centred() : this.strokes;
    const pixels = this.rasterize(strokes);
    if (this.base !== null) {
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(pixels[i], this.base[i]);
    }
    return pixels;
  }

  /** `strokes` as 28x28 pixels: drawn at SCALE times the size, each pixel the mean of its SCALE x SCALE block. */
  rasterize(strokes) {
    const context = this.work.getContext("2d", { willReadFrequently: true });
    context.fillStyle = "#000";
    context.fillRect(0, 0, this.work.width, this.work.height);
    drawStrokes(context, strokes, "#fff");
    const { data } = context.getImageData(0, 0, this.work.width, this.work.height);
    const pixels = new Float64Array(SIZE * SIZE);
    const width = SIZE * SCALE;
    for (let y = 0; y < width; y++) {
      for (let x = 0; x < width; x++) {
        pixels[Math.floor(y / SCALE) * SIZE + Math.floor(x / SCALE)] += data[4 * (y * width + x)];
      }
    }
    return pixels.map((sum) => Math.round(sum / (SCALE * SCALE)));
  }

  /** The strokes scaled to fit MNIST's 20x20 box, then moved so that the ink's centre of mass is the image's centre. */
  centred() {
    const points = this.strokes.flat();
    if (points.length === 0) return [];
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const [left, right, top, bottom] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const extent = Math.max(right - left, bottom - top);
    // The box holds the ink, whose width is the pen's on top of the path's extent.
    const zoom = extent > 0 ? Math.min(MAX_ZOOM, (BOX - PEN) / extent) : 1;
    const cx = (left + right) / 2;
    const cy = (top + bottom) / 2;
    let moved = this.strokes.map((stroke) => stroke.map(([x, y]) => [SIZE / 2 + (x - cx) * zoom, SIZE / 2 + (y - cy) * zoom]));
    const [mx, my] = centreOfMass(this.rasterize(moved));
    moved = moved.map((stroke) => stroke.map(([x, y]) => [x + SIZE / 2 - mx, y + SIZE / 2 - my]));
    return moved;
  }
}

/** Round-capped strokes of PEN image pixels on a canvas SCALE times the image's size (a lone point is a dot). */
function drawStrokes(context, strokes, colour) {
  const scale = context.canvas.width / SIZE;
  context.strokeStyle = context.fillStyle = colour;
  context.lineWidth = PEN * scale;
  context.lineCap = context.lineJoin = "round";
  for (const stroke of strokes) {
    context.beginPath();
    if (stroke.length === 1) {
      context.arc(stroke[0][0] * scale, stroke[0][1] * scale, (PEN * scale) / 2, 0, 2 * Math.PI);
      context.fill();
      continue;
    }
    context.moveTo(stroke[0][0] * scale, stroke[0][1] * scale);
    for (const [x, y] of stroke.slice(1)) context.lineTo(x * scale, y * scale);
    context.stroke();
  }
}

/** The ink-weighted mean position of 28x28 pixels, in image pixels (pixel i's centre is at i + 0.5). */
function centreOfMass(pixels) {
  let total = 0;
  let x = 0;
  let y = 0;
  pixels.forEach((p, i) => {
    total += p;
    x += p * ((i % SIZE) + 0.5);
    y += p * (Math.floor(i / SIZE) + 0.5);
  });
  return total > 0 ? [x / total, y / total] : [SIZE / 2, SIZE / 2];
}
