// Small live charts in plain SVG: a line per series over the last minutes, or bars (no library needed).

const NS = "http://www.w3.org/2000/svg";
const W = 300;
const H = 96;
const TOP = 16; // room above the plot for the scale's label

const svgEl = (tag, attrs) => {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};

/** Round up to 1, 2 or 5 times a power of ten, so the top line reads as a plain number. */
export function niceMax(value) {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= value);
}

function frame(svg, top, unit) {
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren(
    svgEl("line", { x1: 0, x2: W, y1: TOP, y2: TOP, class: "grid" }),
    svgEl("line", { x1: 0, x2: W, y1: (TOP + H) / 2, y2: (TOP + H) / 2, class: "grid" }),
    svgEl("line", { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, class: "axis" }),
  );
  const label = svgEl("text", { x: W - 3, y: 11, class: "max", "text-anchor": "end" });
  label.textContent = `${top} ${unit}`;
  svg.append(label);
  svg.dataset.max = String(top);
}

const y = (v, top) => H - 1 - (v / top) * (H - 1 - TOP);

/** Lines over equally spaced points; `series` is `[{ values: [number|null], cls }]`; a null is skipped. */
export function lineChart(svg, series, unit) {
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v != null))));
  frame(svg, top, unit);
  for (const { values, cls } of series) {
    const step = W / Math.max(1, values.length - 1);
    let d = "";
    values.forEach((v, i) => {
      if (v == null) return;
      d += `${d ? "L" : "M"}${(i * step).toFixed(1)},${y(v, top).toFixed(1)}`;
    });
    svg.append(svgEl("path", { d: d || "M0,0", class: `line ${cls}` }));
  }
}

/** One bar per value, newest on the right. */
export function barChart(svg, values, unit) {
  const top = niceMax(Math.max(0, ...values));
  frame(svg, top, unit);
  const w = W / Math.max(values.length, 20);
  values.forEach((v, i) => {
    const x = W - (values.length - i) * w;
    const barTop = y(v, top);
    svg.append(svgEl("rect", { x: x + 1, y: barTop, width: Math.max(1, w - 2), height: H - 1 - barTop, class: "col" }));
  });
}
