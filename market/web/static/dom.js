// DOM building for the dashboard and the day report (which inlines this file): elements
// from tag, attributes and children, where every child that is not a node becomes text,
// so no data value can become markup.
(function (global) {
  "use strict";

  /** An element; attributes named on… become event listeners. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null) el.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) {
        el.append(child instanceof Node ? child : String(child));
      }
    }
    return el;
  }

  function table(columns, rows, attrs) {
    return h("table", attrs, h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c)))),
             h("tbody", {}, rows.map((r) => h("tr", {}, r.map((cell) => h("td", {}, cell))))));
  }

  const money = (cents) => `${(cents / 100).toLocaleString("en", { minimumFractionDigits: 2 })} €`;

  global.FlexDom = { h, table, money };
})(typeof window !== "undefined" ? window : globalThis);
