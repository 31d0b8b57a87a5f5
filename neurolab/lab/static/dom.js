// Building the page's elements.
//
// Everything a model file names (layer classes, their repr) is written with textContent, never
// innerHTML: the lab treats a model file as untrusted input, and so does the page.

/**
 * A new element: h("button", {class: "small", onclick: f}, "text", child, ...).
 * Props: "class", "text", "style" (an object), "on<event>" (a listener), anything else an attribute.
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") setStyle(node, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** The element with this id (the page's static skeleton is in index.html). */
export function byId(id) {
  return document.getElementById(id);
}

/** Set inline styles; names starting with "--" are CSS variables, which need setProperty. */
export function setStyle(node, styles) {
  for (const [name, value] of Object.entries(styles)) {
    if (name.startsWith("--")) node.style.setProperty(name, String(value));
    else node.style[name] = value;
  }
}
