// Numbers as the Python side writes them.
//
// print(net.explain(...)) writes every number with f"{x:+.6g}". The page writes them the same
// way, character for character, so a learner can hold the page next to their terminal and
// find the same numbers (and the browser tests can compare the two).

/** `x` as Python's f"{x:+.6g}": a sign, 6 significant digits, trailing zeros dropped. */
export function fmt(x) {
  const sign = x < 0 || Object.is(x, -0) ? "-" : "+";
  const v = Math.abs(x);
  if (Number.isNaN(v)) return "+nan";
  if (v === Infinity) return sign + "inf";
  if (v === 0) return sign + "0";
  // The exponent after rounding to 6 digits decides between 0.000123457 and 1.23457e-05,
  // the rule of Python's "g" (JavaScript's toPrecision switches at other exponents).
  const [mantissa, exponentText] = v.toExponential(5).split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const digits = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${dropZeros(mantissa)}e${exponent < 0 ? "-" : "+"}${digits}`;
  }
  return sign + dropZeros(v.toFixed(5 - exponent));
}

function dropZeros(text) {
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** A probability as a percentage with one decimal: 0.98765 -> "98.8%". */
export function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}

/** A short plain number for axes and captions: 3 significant digits, no sign. */
export function short(x) {
  if (x === 0) return "0";
  const v = Math.abs(x);
  if (v >= 1e4 || v < 1e-3) return x.toExponential(1);
  return String(Number(x.toPrecision(3)));
}
