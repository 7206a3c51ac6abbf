// The dashboard: sign in at the token endpoint, then read the REST API with that bearer
// token. Each view is one hash route; what a view cannot read (a role the route does not
// declare, another participant's record) shows the API's own error.
(function () {
  "use strict";
  const main = () => document.getElementById("main");
  const TOKEN = "flexmarket.token";

  const { h, table, money } = FlexDom;
  const section = (title, ...body) => h("section", {}, h("h2", {}, title), ...body);

  // -- session and API ---------------------------------------------------------------
  function claims() {
    const token = sessionStorage.getItem(TOKEN);
    if (!token) return null;
    try {
      const body = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return body.exp * 1000 > Date.now() ? body : null;
    } catch (error) {
      return null;
    }
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(`${status} ${body.code || ""}: ${body.message || ""}`);
      this.status = status;
    }
  }

  async function api(path) {
    const answer = await fetch(path, {
      headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN)}` } });
    const body = await answer.json().catch(() => ({}));
    if (answer.status === 401) { sessionStorage.removeItem(TOKEN); route(); }
    if (!answer.ok) throw new ApiError(answer.status, body);
    return body;
  }

  /** The API's answer, or null for a 404 (not there yet). */
  const maybe = (path) => api(path).catch((e) => { if (e.status === 404) return null; throw e; });

  function shown(error) {
    return h("p", { class: "error", role: "alert" }, error.message);
  }

  // -- views -------------------------------------------------------------------------
  function signIn() {
    const id = h("input", { id: "client-id", name: "client_id", autocomplete: "username",
                            required: "" });
    const secret = h("input", { id: "client-secret", name: "client_secret", type: "password",
                                autocomplete: "current-password", required: "" });
    const status = h("p", { id: "sign-in-status", role: "status" });
    const form = h("form", { id: "sign-in", onsubmit: async (event) => {
      event.preventDefault();
      const answer = await fetch("/v1/auth/token", {
        method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: id.value,
                                    client_secret: secret.value }) });
      const body = await answer.json().catch(() => ({}));
      if (!answer.ok) { status.textContent = `${body.code}: ${body.message}`; return; }
      sessionStorage.setItem(TOKEN, body.access_token);
      if (location.hash === "#/sessions") route();
      else location.hash = "#/sessions";
    } }, h("label", {}, "Participant id ", id), h("label", {}, "Client secret ", secret),
    h("button", { type: "submit" }, "Sign in"), status);
    return section("Sign in", h("p", {}, "With the participant id and client secret the " +
                                "market admin gave you (flexmarket participants add)."), form);
  }

  async function sessions(params) {
    const day = params.get("day") || "";
    const page = await api(`/v1/sessions${day ? `?delivery_day=${day}` : ""}`);
    const picker = h("form", { onsubmit: (event) => {
      event.preventDefault();
      location.hash = `#/sessions?day=${event.target.day.value}`;
    } }, h("label", {}, "Delivery day ", h("input", { name: "day", type: "date", value: day })),
    h("button", { type: "submit" }, "Show"));
    const rows = page.items.map((s) => [
      h("a", { href: `#/session/${s.session_id}` }, s.session_id), s.market_type,
      h("span", { class: `state ${s.state}` }, s.state),
      new Date(s.gate_closes_at).toISOString().slice(0, 16).replace("T", " "),
      ["market", "technical", "validated"].filter((k) => s.outcomes[k]).join(", ") || "–",
      h("a", { href: `#/grid/${s.session_id}` }, "grid")]);
    return section("Sessions", picker, table(
      ["session", "market", "state", "gate closes (UTC)", "outcomes", ""], rows,
      { id: "sessions" }));
  }

  async function session(params, id) {
    const [slot, requests, offers, market, technical, validated] = await Promise.all([
      api(`/v1/sessions/${id}`), api(`/v1/sessions/${id}/requests`),
      api(`/v1/sessions/${id}/offers?limit=200`), maybe(`/v1/sessions/${id}/outcomes/market`),
      maybe(`/v1/sessions/${id}/outcomes/technical`),
      maybe(`/v1/sessions/${id}/outcomes/validated`)]);
    const parts = [h("p", {}, `${slot.market_type} session, `,
                     h("span", { class: `state ${slot.state}` }, slot.state),
                     `; delivers MTUs ${slot.first_mtu}–${slot.first_mtu + slot.mtu_count - 1}`
                     + ` of ${slot.delivery_day}. `,
                     h("a", { href: `#/grid/${id}` }, "The grid before and after"))];
    parts.push(section(`Requests (${requests.total}${requests.total > requests.items.length ? `, the first ${requests.items.length} shown` : ""})`, table(
      ["request", "by", "service", "direction", "at", "MTUs", "peak"],
      requests.items.map((r) => [r.request_id, r.requester_id, r.service,
                                 `${r.direction} ${r.quantity_type}`,
                                 `${r.location.kind} ${r.location.id}`, r.quantities.length,
                                 Math.max(...r.quantities.map((q) => q.quantity))]),
      { id: "requests" })));
    parts.push(section(`Offers (${offers.total}${offers.total > offers.items.length ? `, the first ${offers.items.length} shown` : ""})`, table(
      ["offer", "aggregator", "PoD", "direction", "steps", "withdrawn"],
      offers.items.map((o) => [o.offer_id, o.aggregator_id, o.pod_id,
                               `${o.direction} ${o.quantity_type}`, o.steps.length,
                               o.withdrawn ? "yes" : "no"]), { id: "offers" })));
    if (market) {
      const p = market.payload, front = h("div", { id: "pareto" });
      const o = p.objectives;
      parts.push(section("Market outcome",
        h("p", {}, `${p.engine} ${p.engine_version}: ${p.awards.length} awards, cost ` +
                   `${o.cost_eur.toFixed(2)} €, unserved ${o.unserved.toFixed(1)} kW·MTU; ` +
                   `Pareto front of ${p.pareto_front.length} points (the chosen one larger).`),
        front));
      FlexPlots.paretoFront(front, p.pareto_front, o);
    } else {
      parts.push(section("Market outcome", h("p", {}, "Not cleared yet.")));
    }
    if (technical) {
      const s = technical.payload.statistics;
      parts.push(section("Technical validation", h("p", { id: "validation" },
        `${s.power_flows} AC power flows on ${technical.payload.grid}: ${s.accepted} ` +
        `accepted, ${s.partially_accepted} cut, ${s.rejected} rejected.`)));
    }
    if (validated) {
      const awards = validated.payload.awards;
      parts.push(section(`Validated awards (${awards.length})`, table(
        ["award", "PoD", "aggregator", "requester", "MTU", "kW", "€"],
        awards.slice(0, 200).map((a) => [a.award_id, a.pod_id, a.aggregator_id,
                                         a.requester_id, a.mtu, a.quantity.toFixed(1),
                                         (a.value_cents / 100).toFixed(2)]),
        { id: "awards" })));
    }
    return section(`Session ${id}`, ...parts);
  }

  async function grid(params, id) {
    const mtu = params.get("mtu");
    const picture = await api(`/v1/dso/sessions/${id}/grid-picture${mtu ? `?mtu=${mtu}` : ""}`);
    const before = h("div", { id: "grid-before", class: "map" });
    const after = h("div", { id: "grid-after", class: "map" });
    FlexPlots.gridMap(before, picture, "before");
    FlexPlots.gridMap(after, picture, "after");
    const worst = (which) => ({
      vmin: Math.min(...picture.buses.map((b) => b[`vm_${which}_pu`])),
      load: Math.max(...picture.branches.map((b) => b[`loading_${which}_pct`])) });
    const b = worst("before"), a = worst("after");
    const pick = h("form", { onsubmit: (event) => {
      event.preventDefault();
      location.hash = `#/grid/${id}?mtu=${event.target.mtu.value}`;
    } }, h("label", {}, "MTU ", h("input", { name: "mtu", type: "number", min: 0, max: 99,
                                            value: picture.mtu })),
    h("button", { type: "submit" }, "Show"),
    " (default: the MTU whose forecast is closest to a limit)");
    return section(`Grid ${picture.grid}, session ${id}, MTU ${picture.mtu}`, pick,
      h("p", { id: "grid-summary" }, `lowest voltage ${b.vmin.toFixed(4)} → ${a.vmin.toFixed(4)}`
        + ` pu; highest loading ${b.load.toFixed(1)} → ${a.load.toFixed(1)} %`),
      h("div", { class: "maps" }, h("figure", {}, before, h("figcaption", {}, "forecast")),
        h("figure", {}, after, h("figcaption", {}, "with the validated awards"))),
      h("p", { class: "legend" }, "Buses: green at 1 pu, turning blue towards the lower " +
        "voltage limit and red towards the upper one. Lines and transformers: green below " +
        "80 % of their rating, orange up to the limit, red beyond it."));
  }

  async function wallets(params) {
    const who = params.get("participant") || (claims() || {}).sub || "";
    const day = params.get("day") || new Date().toISOString().slice(0, 10);
    const form = h("form", { onsubmit: (event) => {
      event.preventDefault();
      const f = event.target;
      location.hash = `#/wallets?participant=${encodeURIComponent(f.participant.value)}` +
        `&day=${f.day.value}`;
    } }, h("label", {}, "Participant ", h("input", { name: "participant", value: who })),
    h("label", {}, "Month of ", h("input", { name: "day", type: "date", value: day })),
    h("button", { type: "submit" }, "Show"));
    if (!who) return section("Settlements and wallets", form);
    const [wallet, settled] = await Promise.all([
      api(`/v1/wallets/${encodeURIComponent(who)}`),
      api(`/v1/participants/${encodeURIComponent(who)}/settlements?day=${day}&period=month`)]);
    return section("Settlements and wallets", form,
      h("p", { id: "wallet" }, `${wallet.participant_id}: ${money(wallet.balance_cents)} at `,
        h("code", {}, wallet.address)),
      section(`Transfers (${wallet.transfers.length})`, table(
        ["day", "kind", "from", "to", "amount"],
        wallet.transfers.map((t) => [t.delivery_day, t.kind, t.payer_id, t.payee_id,
                                     money(t.amount_cents)]), { id: "transfers" })),
      section(`Settled PoDs, ${settled.first_day} to ${settled.last_day} ` +
              `(${settled.items.length})`, table(
        ["day", "PoD", "aggregator", "awarded", "paid", "penalty", "to customer", "penalised"],
        settled.items.map((s) => [s.delivery_day, s.pod_id, s.aggregator_id,
                                  money(s.awarded_value_cents), money(s.payment_cents),
                                  money(s.penalty_cents), money(s.customer_cents),
                                  s.penalised ? "yes" : "no"]), { id: "settlements" })));
  }

  async function verify(params) {
    const config = await fetch("/dashboard/config.json").then((r) => r.json());
    const event = h("input", { id: "event-id", name: "event", size: 40,
                               value: params.get("event") || "" });
    const chain = h("input", { id: "chain-url", size: 40, value: config.chain_url || "" });
    const anchor = h("input", { id: "anchor-address", size: 44, value: config.event_anchor || "" });
    const verdict = h("p", { id: "verdict", role: "status" });
    const steps = h("ol", { id: "steps" });
    const form = h("form", { id: "verify", onsubmit: async (e) => {
      e.preventDefault();
      verdict.textContent = "checking …";
      verdict.removeAttribute("data-ok");
      steps.replaceChildren();
      try {
        const proof = await api(`/audit/events/${encodeURIComponent(event.value.trim())}/proof`);
        const result = await FlexVerify.verifyProof(proof, chain.value.trim(), anchor.value.trim());
        for (const step of result.steps) {
          steps.append(h("li", { class: step.ok ? "ok" : "fail" },
                         `${step.ok ? "ok" : "FAIL"} ${step.text}`));
        }
        verdict.textContent = result.ok ? `verified: ${proof.event.type} is anchored on chain`
                                        : "NOT verified";
      } catch (error) {
        verdict.textContent = `NOT verified: ${error.message}`;
        verdict.setAttribute("data-ok", "false");
        return;
      }
      verdict.setAttribute("data-ok", String(!steps.querySelector("li.fail")));
    } },
    h("label", {}, "Event id ", event), h("label", {}, "Chain JSON-RPC ", chain),
    h("label", {}, "EventAnchor you trust ", anchor), h("button", { type: "submit" }, "Verify"));
    return section("Verify an event", h("p", {}, "The proof comes from this API; the hashes " +
      "are computed here in your browser and the root is read from the chain you name, so " +
      "neither the API nor its database is trusted."), form, verdict, steps);
  }

  const VIEWS = { sessions, session, grid, wallets, verify };
  let current = 0; // a slower, older route's answer must not replace a newer one's

  async function route() {
    const mine = ++current;
    const [path, query] = (location.hash.slice(1) || "/sessions").split("?");
    const [, name, arg] = path.split("/");
    const who = claims();
    document.getElementById("who").textContent =
      who ? `${who.sub} (${who.role})` : "not signed in";
    document.getElementById("sign-out").hidden = !who;
    const view = VIEWS[name] || sessions;
    main().replaceChildren(h("p", { class: "loading" }, "loading …"));
    if (!who) { main().replaceChildren(signIn()); return; }
    let shownView;
    try {
      shownView = await view(new URLSearchParams(query || ""), arg);
    } catch (error) {
      shownView = shown(error);
    }
    if (mine !== current) return;
    main().replaceChildren(shownView);
    main().setAttribute("data-view", name || "sessions");
  }

  window.addEventListener("hashchange", route);
  window.addEventListener("DOMContentLoaded", () => {
    document.getElementById("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN);
      route();
    });
    route();
  });
})();
