// real_trade dashboard: plain JavaScript over the control API (no build, no CDN).
// The token stays in this tab (sessionStorage) and goes in the Authorization header; the push
// channel is read with fetch() so that the token never appears in a URL.
"use strict";

const COLORS = ["#1d4ed8", "#17803d", "#b54708", "#7c3aed", "#0e7490", "#be185d"];
const state = { token: sessionStorage.getItem("rt_token") || "", status: null, config: null,
                orders: [], positions: [], push: null };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function num(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  const d = digits === undefined ? (Math.abs(v) >= 100 ? 2 : 6) : digits;
  return Number(v).toLocaleString("en-US", { maximumFractionDigits: d });
}

function when(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "-"; }

function age(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

async function api(path, options) {
  const opts = options || {};
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, opts.headers || {});
  const response = await fetch(path, Object.assign({}, opts, { headers }));
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const error = new Error((body && body.error) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function fillTable(id, rows, build, emptyText) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren();
  if (!rows.length) {
    const tr = el("tr");
    const td = el("td", emptyText || "none", "empty");
    td.colSpan = $(id).querySelectorAll("th").length;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const row of rows) body.append(build(row));
}

function cells(tr, values) {
  for (const v of values) {
    if (v instanceof Node) { const td = el("td"); td.append(v); tr.append(td); }
    else tr.append(el("td", v));
  }
  return tr;
}

// -- status ------------------------------------------------------------------------------
function renderStatus(status) {
  state.status = status;
  const mode = status.mode.toUpperCase();
  $("banner").className = `banner mode-${status.mode}`;
  $("mode").textContent = mode;
  $("venue").textContent = `${status.venue} ${status.market_type}`;
  const trading = $("trading");
  trading.textContent = `trading: ${status.trading_state.toUpperCase()}` +
    (status.trading_reason ? ` (${status.trading_reason})` : "");
  trading.className = `pill ${status.trading_state}`;
  const kill = $("kill-state");
  kill.textContent = status.kill_pending ? "kill request PENDING" : "kill switch: armed";
  kill.className = status.kill_pending ? "pill pending" : "pill";
  const target = $("target");
  const chosen = target.value;
  target.replaceChildren(el("option", "all runners"));
  target.firstChild.value = "";
  const box = $("runners");
  box.replaceChildren();
  if (!status.runners.length) box.append(el("p", "no runner has written to this journal", "empty"));
  for (const r of status.runners) {
    const option = el("option", r.strategy);
    option.value = r.strategy;
    target.append(option);
    const card = el("div", null, "runner");
    card.dataset.strategy = r.strategy;
    card.append(el("h3", r.strategy));
    const beat = r.heartbeat_ms ? age((Date.now() - r.heartbeat_ms) / 1000) + " ago" : "never";
    const line = el("div");
    line.append(el("span", r.alive ? "ALIVE" : "NOT RUNNING", r.alive ? "alive" : "dead"),
                document.createTextNode(` · ${(r.mode || "?").toUpperCase()} · ${r.state || "-"} · heartbeat ${beat}`));
    card.append(line);
    card.append(el("div", `symbols: ${(r.symbols || []).join(", ") || "-"}`));
    card.append(el("div", `feeds: ${r.feeds || "-"}`));
    card.append(el("div", `breaker: ${r.breaker || "-"}`));
    const checks = el("div");
    for (const c of r.checks) {
      const span = el("span", `${c.name} ${c.status.toUpperCase()} `, `check-${c.status}`);
      span.title = c.detail;
      checks.append(span);
    }
    card.append(checks);
    box.append(card);
  }
  target.value = chosen;
}

// -- tables ------------------------------------------------------------------------------
function renderPositions(rows) {
  state.positions = rows;
  fillTable("positions", rows, (p) => {
    const pnl = el("span", num(p.unrealized_pnl, 2),
                   p.unrealized_pnl > 0 ? "pos" : p.unrealized_pnl < 0 ? "neg" : "");
    return cells(el("tr"), [p.strategy, p.symbol, num(p.size), num(p.entry_price),
                            num(p.mark_price), pnl]);
  }, "flat");
  renderLimits();
}

function renderOrders(rows) {
  state.orders = rows;
  const now = Date.now();
  fillTable("orders", rows, (o) => {
    const button = el("button", "Cancel");
    button.dataset.order = o.client_order_id;
    button.addEventListener("click", () => act("cancel", { client_order_id: o.client_order_id,
      strategy: o.strategy }, `Cancel order ${o.client_order_id} (${o.side} ${o.amount} ${o.symbol})?`));
    const tr = cells(el("tr"), [o.strategy, o.client_order_id, o.symbol, o.side, o.kind,
      num(o.amount), num(o.price), num(o.filled), o.state || "SENT?",
      age((now - o.time_ms) / 1000), button]);
    tr.dataset.order = o.client_order_id;
    return tr;
  }, "no open order");
}

function fillRow(f, live) {
  const tr = cells(el("tr", null, live ? "live" : ""), [when(f.time_ms), f.strategy, f.symbol,
    f.side, num(f.amount), num(f.price), num(f.fee_in_quote, 4), f.client_order_id]);
  tr.dataset.trade = `${f.strategy}|${f.symbol}|${f.trade_id}`;
  return tr;
}

function renderFills(rows) { fillTable("fills", rows, (f) => fillRow(f, false), "no fill yet"); }

function addFill(f) {
  const body = $("fills").querySelector("tbody");
  const key = `${f.strategy}|${f.symbol}|${f.trade_id}`;
  if (body.querySelector(`tr[data-trade="${CSS.escape(key)}"]`)) return;
  const empty = body.querySelector("td.empty");
  if (empty) empty.parentElement.remove();
  body.prepend(fillRow(f, true));
  while (body.children.length > 40) body.lastElementChild.remove();
}

function renderLimits() {
  const risk = (state.config && state.config.risk) || {};
  const rows = [];
  const biggest = state.positions.reduce((m, p) => Math.max(m, Math.abs(p.size)), 0);
  const notional = state.positions.reduce((m, p) => Math.max(m, Math.abs(p.size * (p.mark_price || 0))), 0);
  const used = { max_position_amount: biggest, max_position_notional: notional };
  for (const [name, value] of Object.entries(risk)) {
    if (value === null || typeof value === "object") continue;
    const u = used[name];
    const share = u !== undefined && value ? `${num(u)} (${Math.round((100 * u) / value)}%)` : "-";
    rows.push([name, num(value), share]);
  }
  fillTable("limits", rows, (r) => cells(el("tr"), r), "no limit set");
}

function addAlert(text, cls) {
  const list = $("alerts");
  const item = el("li", `${when(Date.now())} ${text}`, cls || "");
  list.prepend(item);
  while (list.children.length > 200) list.lastElementChild.remove();
}

// -- chart -------------------------------------------------------------------------------
function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function renderChart(points) {
  const box = $("chart");
  box.replaceChildren();
  if (!points.length) { box.append(el("p", "no equity recorded yet", "empty")); return; }
  const W = 1000, H = 220, top = 10, mid = 160, bottom = 210, left = 60;
  const t0 = Math.min(...points.map((p) => p.time_ms)), t1 = Math.max(...points.map((p) => p.time_ms));
  const lo = Math.min(...points.map((p) => p.equity)), hi = Math.max(...points.map((p) => p.equity));
  const ddMax = Math.max(0.0001, ...points.map((p) => p.drawdown));
  const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (W - left - 10);
  const y = (v) => mid - ((v - lo) / Math.max(1e-9, hi - lo)) * (mid - top);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  root.append(svg("line", { x1: left, y1: mid, x2: W, y2: mid, class: "axis" }));
  const label = (text, yy) => { const t = svg("text", { x: 4, y: yy, class: "label" }); t.textContent = text; root.append(t); };
  label(num(hi, 2), top + 10); label(num(lo, 2), mid); label(`dd ${num(ddMax * 100, 2)}%`, bottom);
  const byRunner = {};
  for (const p of points) (byRunner[p.strategy] = byRunner[p.strategy] || []).push(p);
  Object.keys(byRunner).sort().forEach((name, i) => {
    const series = byRunner[name];
    const dd = series.map((p) => `${x(p.time_ms)},${mid + 4 + (p.drawdown / ddMax) * (bottom - mid - 4)}`);
    root.append(svg("polygon", { points: `${x(series[0].time_ms)},${mid + 4} ${dd.join(" ")} ${x(series[series.length - 1].time_ms)},${mid + 4}`, class: "dd" }));
    const line = svg("polyline", { points: series.map((p) => `${x(p.time_ms)},${y(p.equity)}`).join(" "), class: "eq", stroke: COLORS[i % COLORS.length] });
    line.dataset.strategy = name;
    root.append(line);
  });
  box.append(root);
}

// -- loading -----------------------------------------------------------------------------
async function loadAll() {
  const [status, positions, orders, fills, equity, config, logs] = await Promise.all([
    api("/api/status"), api("/api/positions"), api("/api/orders?open=1&limit=500"),
    api("/api/fills?limit=20"), api("/api/equity?points=500"), api("/api/config"),
    api("/api/logs?lines=100")]);
  state.config = config;
  renderStatus(status);
  renderPositions(positions);
  renderOrders(orders.items);
  renderFills(fills.items);
  renderChart(equity);
  showLogs(logs);
}

function showLogs(logs) {
  if (!logs.file) $("logs").textContent = "(no [logging] file in the config)";
  else $("logs").textContent = logs.lines.length ? logs.lines.join("\n") : `(${logs.file} is empty)`;
}

async function refreshSlow() {
  try {
    const [positions, equity, logs] = await Promise.all([
      api("/api/positions"), api("/api/equity?points=500"), api("/api/logs?lines=100")]);
    renderPositions(positions);
    renderChart(equity);
    showLogs(logs);
  } catch (e) { /* the push channel shows the connection state */ }
}

// -- push channel ------------------------------------------------------------------------
function handle(event, data) {
  if (event === "fill") {
    addFill(data);
    addAlert(`fill ${data.side} ${num(data.amount)} ${data.symbol} @ ${num(data.price)} (${data.strategy})`);
  } else if (event === "order") {
    renderOrders(data.open);
  } else if (event === "status") {
    renderStatus(data);
  } else if (event === "risk" || event === "feed" || event === "action") {
    addAlert(`${event}: ${describe(data)}`, event === "risk" ? "neg" : "");
    if (event !== "feed") refreshSlow();
  }
}

function describe(data) {
  if (!data.kind) return Object.entries(data).map(([k, v]) => `${k} ${v}`).join(", ");
  const p = data.payload || {};
  const text = p.summary || p.detail || p.reason || p.state || JSON.stringify(p).slice(0, 160);
  return `${data.kind}${data.strategy ? ` (${data.strategy})` : ""}: ${text}`;
}

async function startPush() {
  const flag = $("live");
  for (;;) {
    try {
      const controller = new AbortController();
      state.push = controller;
      const response = await fetch("/api/events", {
        headers: { Authorization: `Bearer ${state.token}` }, signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      flag.textContent = "push: live"; flag.className = "pill";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          let event = "message"; const data = [];
          for (const line of frame.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) handle(event, JSON.parse(data.join("\n")));
        }
      }
    } catch (e) { /* reconnect below */ }
    flag.textContent = "push: reconnecting"; flag.className = "pill off";
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// -- actions -----------------------------------------------------------------------------
function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

async function act(action, extra, question) {
  const status = state.status;
  if (!status) return;
  const target = (extra && extra.strategy) || $("target").value;
  const where = `${status.mode.toUpperCase()} account on ${status.venue}` + (target ? `, runner ${target}` : "");
  if (!window.confirm(`${question}\n\n${where}`)) { $("action-result").textContent = `${action}: not confirmed, nothing done`; return; }
  const body = Object.assign({ mode: status.mode, reason: $("reason").value || "dashboard operator",
                               strategy: target }, extra || {});
  try {
    const result = await api(`/api/actions/${action}`, { method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": newId() },
      body: JSON.stringify(body) });
    $("action-result").textContent = `${action}: ${result.detail}`;
    addAlert(`${action} by ${result.who}: ${result.detail}`);
  } catch (e) {
    $("action-result").textContent = `${action} refused: ${e.message}`;
  }
}

const QUESTIONS = {
  pause: "Pause new entries? Only orders that reduce exposure will pass.",
  resume: "Resume trading? The strategy may open new positions.",
  cancel_all: "Cancel every open order?",
  reload_risk: "Reload the risk limits from the config file?",
  kill: "KILL SWITCH: cancel every open order and HALT trading?",
};

function wire() {
  for (const button of document.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      const flatten = button.dataset.flatten === "1";
      const question = flatten ? "KILL SWITCH: cancel every open order, CLOSE EVERY POSITION and HALT trading?" : QUESTIONS[action];
      act(action, action === "kill" ? { flatten } : {}, question);
    });
  }
  $("login-form").addEventListener("submit", (e) => { e.preventDefault(); connect($("token").value.trim()); });
  setInterval(() => { if (state.orders.length) renderOrders(state.orders); }, 1000);
  setInterval(refreshSlow, 5000);
}

async function connect(token) {
  state.token = token;
  try {
    await loadAll();
  } catch (e) {
    $("login-error").textContent = e.status === 401 ? "that token is not valid (or has expired)" : e.message;
    return;
  }
  sessionStorage.setItem("rt_token", token);
  $("login").hidden = true;
  $("board").hidden = false;
  startPush();
}

wire();
if (state.token) connect(state.token);
