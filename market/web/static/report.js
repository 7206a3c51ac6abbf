// Draws the demo's day report from REPORT (written by market/report.py) with FlexPlots.
(function () {
  "use strict";
  const root = document.getElementById("report");
  const { h, table, money } = FlexDom;
  const figure = (id, caption) => h("figure", {}, h("div", { id, class: "plot-host" }), h("figcaption", {}, caption));

  // The demo's summary, less what the tables below show in full.
  const flat = (v) => (v === null || typeof v !== "object" ? String(v)
    : Array.isArray(v) ? v.map(flat).join("; ")
    : Object.entries(v).map(([k, x]) => `${k.replace(/_/g, " ")}: ${flat(x)}`).join(", "));
  const summary = Object.entries(REPORT.summary || {}).filter(([k]) => !["sessions", "kpis"].includes(k));
  if (summary.length) {
    root.append(h("h2", {}, "What the day did"), table(["stage", "figures"],
      summary.map(([k, v]) => [k.replace(/_/g, " "), flat(v)])));
  }

  root.append(h("h2", {}, "Sessions"), table(
    ["session", "requests", "offers", "validated awards", "cost €", "unserved kW·MTU", "Pareto points"],
    REPORT.sessions.map((s) => [s.session_id, s.requests, s.offers, s.awards,
      s.objectives ? s.objectives.cost_eur.toFixed(2) : "–",
      s.objectives ? s.objectives.unserved.toFixed(1) : "–", s.pareto_front.length])));

  const cleared = REPORT.sessions.filter((s) => s.pareto_front.length);
  root.append(h("h2", {}, "Pareto front per session (the chosen point in red)"));
  for (const s of cleared) {
    const id = `pareto-${s.session_id}`;
    root.append(figure(id, s.session_id));
    FlexPlots.paretoFront(document.getElementById(id), s.pareto_front, s.objectives);
  }

  root.append(h("h2", {}, "Bus voltages before and after the awards (each session's worst MTU)"));
  for (const s of REPORT.sessions.filter((x) => x.grid)) {
    const g = s.grid, id = `volts-${s.session_id}`;
    root.append(figure(id, `${s.session_id}, MTU ${g.mtu}`));
    FlexPlots.lines(document.getElementById(id), g.buses.map((b) => b.bus), [
      { name: "before", values: g.buses.map((b) => b.vm_before_pu) },
      { name: "after", values: g.buses.map((b) => b.vm_after_pu) }],
      { ylabel: "voltage (pu)", xlabel: "bus", zero: false });
    const maps = h("div", { class: "maps" }, figure(`${id}-map-before`, "forecast"), figure(`${id}-map-after`, "with the awards"));
    root.append(maps);
    FlexPlots.gridMap(document.getElementById(`${id}-map-before`), g, "before");
    FlexPlots.gridMap(document.getElementById(`${id}-map-after`), g, "after");
  }

  const d = REPORT.delivery;
  root.append(h("h2", {}, "Delivered against awarded, per MTU (all settled PoDs)"), figure("delivery", "kW"));
  FlexPlots.bars(document.getElementById("delivery"), d.mtus, [
    { name: "awarded", values: d.awarded_kw }, { name: "delivered", values: d.delivered_kw }],
    { ylabel: "kW", xlabel: "MTU" });

  const t = REPORT.tokens;
  root.append(h("h2", {}, "Token flows (FlexToken, 1 token = 1 cent)"), figure("tokens", "by kind"));
  FlexPlots.bars(document.getElementById("tokens"), Object.keys(t.by_kind),
    [{ name: "€", values: Object.values(t.by_kind).map((c) => c / 100) }], { ylabel: "€" });
  root.append(table(["payer", "payee", "amount"], t.flows.map((f) => [f.payer, f.payee, money(f.cents)])));

  root.append(h("h2", {}, "End-of-day KPIs (Platone Annex C)"), table(["KPI", "scope", "value", "target"],
    REPORT.kpis.map((k) => [k.kpi, k.scope, k.value_pct === null ? "n/a" : `${k.value_pct.toFixed(1)} %`,
      `${k.sense === "at_least" ? "≥" : "≤"} ${k.target_pct} %`])));
  root.setAttribute("data-drawn", "true");
})();
