// SVG plots for the dashboard and the demo's HTML report (which inlines this file): a
// scatter of a Pareto front, grouped bars, lines over MTUs, and the grid drawn at its
// buses' coordinates. Built with DOM calls, never from HTML strings, so no data value can
// become markup.
(function (global) {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 320, M = { left: 64, right: 16, top: 16, bottom: 48 };
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

  function node(tag, attrs, parent, text) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    if (parent) parent.appendChild(el);
    return el;
  }

  function canvas(host, label) {
    host.replaceChildren();
    const svg = node("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label,
                              class: "plot" }, host);
    return svg;
  }

  function extent(values, zero) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (!isFinite(lo) || !isFinite(hi)) { lo = 0; hi = 1; }
    // At least 2 % of the values' size: differences below that are rounding, not a
    // trade-off, and must not fill the plot.
    const least = Math.max(0.02 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-9);
    if (hi - lo < least) { const mid = (hi + lo) / 2; lo = mid - least / 2; hi = mid + least / 2; }
    if (lo === hi) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.05;
    return [zero && lo === 0 ? 0 : lo - pad, hi + pad];
  }

  function axes(svg, [x0, x1], [y0, y1], xlabel, ylabel) {
    const sx = (v) => M.left + ((v - x0) / (x1 - x0)) * (W - M.left - M.right);
    const sy = (v) => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
    node("line", { x1: M.left, y1: H - M.bottom, x2: W - M.right, y2: H - M.bottom,
                   class: "axis" }, svg);
    node("line", { x1: M.left, y1: M.top, x2: M.left, y2: H - M.bottom, class: "axis" }, svg);
    const xf = ticks(x1 - x0), yf = ticks(y1 - y0);
    for (let i = 0; i <= 4; i++) {
      const yv = y0 + ((y1 - y0) * i) / 4, xv = x0 + ((x1 - x0) * i) / 4;
      node("text", { x: M.left - 6, y: sy(yv) + 4, "text-anchor": "end", class: "tick" },
           svg, yf(yv));
      node("text", { x: sx(xv), y: H - M.bottom + 16, "text-anchor": "middle", class: "tick" },
           svg, xf(xv));
    }
    node("text", { x: (W + M.left) / 2, y: H - 8, "text-anchor": "middle", class: "label" },
         svg, xlabel);
    node("text", { x: 14, y: H / 2, transform: `rotate(-90 14 ${H / 2})`,
                   "text-anchor": "middle", class: "label" }, svg, ylabel);
    return [sx, sy];
  }

  /** Tick labels with as many decimals as a quarter of the axis's span needs. */
  function ticks(span) {
    const digits = Math.max(0, Math.min(4, 1 - Math.floor(Math.log10(span / 4 || 1))));
    return (v) => v.toFixed(digits);
  }

  const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1)
                                                                          : v.toFixed(3));

  /** Points {x, y, label}; the chosen one (`chosen` index) drawn larger. */
  function scatter(host, points, { xlabel, ylabel, chosen } = {}) {
    const svg = canvas(host, `${ylabel} against ${xlabel}`);
    // Zoomed to the points: a front's trade-off spans a few per cent of its values.
    const [sx, sy] = axes(svg, extent(points.map((p) => p.x), false),
                          extent(points.map((p) => p.y), false), xlabel, ylabel);
    points.forEach((p, i) => {
      const dot = node("circle", { cx: sx(p.x), cy: sy(p.y), r: i === chosen ? 7 : 4,
                                   class: i === chosen ? "point chosen" : "point" }, svg);
      node("title", {}, dot, p.label || `${fmt(p.x)}, ${fmt(p.y)}`);
    });
    return svg;
  }

  /** Grouped bars: `categories` along x, `series` [{name, values}] side by side. */
  function bars(host, categories, series, { ylabel, xlabel } = {}) {
    const svg = canvas(host, ylabel);
    const all = series.flatMap((s) => s.values);
    const [, sy] = axes(svg, [0, 1], extent(all, true), xlabel || "", ylabel);
    const band = (W - M.left - M.right) / Math.max(categories.length, 1);
    const width = (band * 0.8) / Math.max(series.length, 1);
    svg.querySelectorAll("text.tick[text-anchor=middle]").forEach((t) => t.remove());
    categories.forEach((category, i) => {
      series.forEach((s, j) => {
        const v = s.values[i], y = sy(Math.max(v, 0)), base = sy(0);
        const bar = node("rect", { x: M.left + band * i + band * 0.1 + width * j, y,
                                   width: Math.max(width - 1, 1),
                                   height: Math.max(Math.abs(base - sy(v)), 0.5),
                                   fill: COLOURS[j % COLOURS.length], class: "bar" }, svg);
        node("title", {}, bar, `${category} ${s.name}: ${fmt(v)}`);
      });
      if (categories.length <= 24 || i % Math.ceil(categories.length / 24) === 0) {
        node("text", { x: M.left + band * (i + 0.5), y: H - M.bottom + 16,
                       "text-anchor": "middle", class: "tick" }, svg, String(category));
      }
    });
    legend(svg, series.map((s) => s.name));
    return svg;
  }

  /** Lines over a shared x: `series` [{name, values}] against `xs`; the y axis starts at
   *  zero unless `zero` is false (voltages, which live near 1 pu). */
  function lines(host, xs, series, { xlabel, ylabel, zero = true } = {}) {
    const svg = canvas(host, ylabel);
    const [sx, sy] = axes(svg, extent(xs, false), extent(series.flatMap((s) => s.values), zero),
                          xlabel, ylabel);
    series.forEach((s, j) => {
      const d = s.values.map((v, i) => `${i ? "L" : "M"}${sx(xs[i]).toFixed(1)},${sy(v).toFixed(1)}`);
      node("path", { d: d.join(""), fill: "none", stroke: COLOURS[j % COLOURS.length],
                     "stroke-width": 2, class: "series" }, svg);
      s.values.forEach((v, i) => {
        const dot = node("circle", { cx: sx(xs[i]), cy: sy(v), r: 2.5,
                                     fill: COLOURS[j % COLOURS.length] }, svg);
        node("title", {}, dot, `${s.name} at ${xs[i]}: ${fmt(v)}`);
      });
    });
    legend(svg, series.map((s) => s.name));
    return svg;
  }

  function legend(svg, names) {
    names.forEach((name, j) => {
      node("rect", { x: W - M.right - 150, y: M.top + 14 * j, width: 10, height: 10,
                     fill: COLOURS[j % COLOURS.length] }, svg);
      node("text", { x: W - M.right - 136, y: M.top + 9 + 14 * j, class: "tick" }, svg, name);
    });
  }

  /** Colour of a voltage: blue below the band, green at 1 pu, red above. */
  function voltageColour(vm, vmin, vmax) {
    if (vm < vmin) return "#1f4fd8";
    if (vm > vmax) return "#d62728";
    const t = vm < 1 ? (1 - vm) / (1 - vmin) : (vm - 1) / (vmax - 1);
    const r = Math.round(44 + t * (vm < 1 ? -12 : 170)), g = Math.round(160 - t * 80);
    const b = Math.round(44 + t * (vm < 1 ? 170 : -12));
    return `rgb(${r},${g},${b})`;
  }

  function loadingColour(pct, limit) {
    return pct >= limit ? "#d62728" : pct >= 0.8 * limit ? "#ff7f0e" : "#2ca02c";
  }

  /** The grid at its coordinates; `which` is "before" or "after" the awards. */
  function gridMap(host, picture, which) {
    const svg = canvas(host, `grid ${picture.grid} ${which} the awards, MTU ${picture.mtu}`);
    const xs = picture.buses.map((b) => b.x), ys = picture.buses.map((b) => b.y);
    const [x0, x1] = extent(xs, false), [y0, y1] = extent(ys, false);
    const sx = (v) => M.left + ((v - x0) / (x1 - x0)) * (W - M.left - M.right - 160);
    const sy = (v) => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
    const at = Object.fromEntries(picture.buses.map((b) => [b.bus, b]));
    for (const br of picture.branches) {
      const a = at[br.from_bus], b = at[br.to_bus];
      if (!a || !b) continue;
      const pct = br[`loading_${which}_pct`];
      const edge = node("line", { x1: sx(a.x), y1: sy(a.y), x2: sx(b.x), y2: sy(b.y),
                                  stroke: loadingColour(pct, picture.max_loading_pct),
                                  "stroke-width": br.kind === "trafo" ? 6 : 3,
                                  class: `branch ${br.kind}`, "data-loading": pct }, svg);
      node("title", {}, edge, `${br.kind} ${br.index}: ${pct.toFixed(1)} % loaded`);
    }
    for (const b of picture.buses) {
      const vm = b[`vm_${which}_pu`];
      const dot = node("circle", { cx: sx(b.x), cy: sy(b.y), r: 7, class: "bus",
                                   fill: voltageColour(vm, picture.v_min_pu, picture.v_max_pu),
                                   "data-vm": vm }, svg);
      node("title", {}, dot, `${b.name}: ${vm.toFixed(4)} pu`);
    }
    const notes = [`${which} the awards, MTU ${picture.mtu}`,
                   `voltage ${picture.v_min_pu}–${picture.v_max_pu} pu`,
                   `loading limit ${picture.max_loading_pct} %`];
    notes.forEach((text, i) => node("text", { x: W - M.right - 150, y: M.top + 12 + 16 * i,
                                              class: "tick" }, svg, text));
    return svg;
  }

  /** A session's Pareto front drawn as cost against unserved quantity, or against risk
   *  when every point serves everything (the usual case once offers suffice), with the
   *  chosen point's index. */
  function paretoFront(host, front, chosenObjectives) {
    const spread = new Set(front.map((q) => q.unserved)).size > 1;
    const y = spread ? "unserved" : "risk";
    const chosen = front.findIndex((q) => chosenObjectives && q.cost_eur === chosenObjectives.cost_eur &&
                                          q[y] === chosenObjectives[y]);
    return scatter(host, front.map((q) => ({
      x: q.cost_eur, y: q[y],
      label: `cost ${q.cost_eur.toFixed(2)} €, unserved ${q.unserved.toFixed(1)} kW·MTU, risk ${q.risk.toFixed(2)}` })),
      { xlabel: "cost (€)", ylabel: spread ? "unserved (kW·MTU)" : "risk (all served)", chosen });
  }

  global.FlexPlots = { scatter, bars, lines, gridMap, paretoFront, voltageColour };
})(typeof window !== "undefined" ? window : globalThis);
