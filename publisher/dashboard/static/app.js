// The dashboard page: one SSE stream (/events): a full "state" first, then a "delta" every push interval.
"use strict";
const $ = (id) => document.getElementById(id);
let S = null;               // the whole state, as /api/state returns it
let barsPlot = null, pricePlot = null;
const KEEP_TAPE = 300, KEEP_SIGNALS = 200, KEEP_PRICES = 3600;

function usd(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return "$" + (v / 1e9).toFixed(2) + "B";
  if (a >= 1e6) return "$" + (v / 1e6).toFixed(2) + "M";
  if (a >= 1e3) return "$" + (v / 1e3).toFixed(1) + "k";
  return "$" + v.toFixed(0);
}
const num = (v) => (+v).toLocaleString("en-US", {maximumSignificantDigits: 6});
const hms = (ms) => new Date(ms).toLocaleTimeString([], {hour12: false});
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
const dur = (s) => s >= 3600 ? (s / 3600).toFixed(1) + " h" : s >= 60 ? Math.floor(s / 60) + " min" : Math.floor(s) + " s";

function applyDelta(d) {
  for (const k of ["now", "totals", "venues", "bars", "levels", "regime", "price_fresh", "tape_min_usd", "price_symbol"]) S[k] = d[k];
  for (const p of d.prices) {  // a delta may repeat what the first snapshot already had: keep time order
    const last = S.prices[S.prices.length - 1];
    if (last && last[0] === p[0]) last[1] = p[1]; else if (!last || p[0] > last[0]) S.prices.push(p);
  }
  if (S.prices.length > KEEP_PRICES) S.prices.splice(0, S.prices.length - KEEP_PRICES);
  const newer = (rows, have) => rows.filter((r) => !have.length || r.id > have[have.length - 1].id);
  S.tape = S.tape.concat(newer(d.tape, S.tape)).slice(-KEEP_TAPE);
  S.signals = S.signals.concat(newer(d.signals, S.signals)).slice(-KEEP_SIGNALS);
}

function renderTotals() {
  const html = Object.entries(S.totals).map(([name, t]) => {
    const total = t.long_usd + t.short_usd, lp = total ? 100 * t.long_usd / total : 0;
    const big = t.largest ? `${usd(t.largest[0])} ${esc(t.largest[1])} <span class="${t.largest[2]}">${t.largest[2]}</span> on ${esc(t.largest[3])}` : "–";
    const cover = t.complete ? "" : ` <span class="dim">(since start, ${dur(t.covered_s)})</span>`;
    return `<div class="card"><div class="dim">${name}${cover}</div><div class="big">${usd(total)}</div>
      <div class="ls"><div class="l" style="width:${lp}%"></div><div class="s" style="width:${total ? 100 - lp : 0}%"></div></div>
      <div><span class="long">longs ${usd(t.long_usd)}</span> · <span class="short">shorts ${usd(t.short_usd)}</span> · ${t.count} liquidations</div>
      <div class="dim">largest: ${big}</div></div>`;
  }).join("");
  $("totals").innerHTML = html;
}

function renderVenues() {
  const rows = Object.entries(S.venues).sort().map(([v, r]) => {
    const state = r.connected === undefined ? '<span class="dim">no status</span>'
      : r.stale ? '<span class="warn">stale</span>' : r.connected ? '<span class="ok">connected</span>' : '<span class="bad">disconnected</span>';
    const age = r.last_frame_age_s == null ? "–" : r.last_frame_age_s.toFixed(1) + " s";
    return `<tr><td>${esc(v)}</td><td>${r.feed ?? "–"}</td><td>${state}</td><td class="num long">${usd(r.long_usd)}</td>
      <td class="num short">${usd(r.short_usd)}</td><td class="num">${r.count}</td><td class="num">${r.reconnects ?? "–"}</td><td class="num">${age}</td></tr>`;
  });
  $("venues").tBodies[0].innerHTML = rows.join("") || '<tr><td colspan="8" class="empty">no venue yet</td></tr>';
}

function contextHtml(c) {
  // open interest (USD) and its 5 min change, funding per 8 h, basis, and the estimated true USD of 10 s
  if (!c) return "";
  const parts = [];
  if (c.oi_usd != null) {
    const ch = c.oi_change_5m_frac == null ? "" : ` (${c.oi_change_5m_frac < 0 ? "−" : "+"}${Math.abs(100 * c.oi_change_5m_frac).toFixed(1)}% 5m)`;
    parts.push(`<span class="oi">OI ${usd(c.oi_usd)}${ch}</span>`);
  }
  if (c.funding != null) parts.push(`<span class="funding">funding ${(100 * c.funding).toFixed(3)}%/8h</span>`);
  if (c.basis != null) parts.push(`<span>basis ${(100 * c.basis).toFixed(2)}%</span>`);
  if (c.est_usd > (c.observed_usd_10s || 0) * 1.05) parts.push(`<span title="observed ${usd(c.observed_usd_10s)} in 10 s">est. true ${usd(c.est_usd)} (${usd(c.est_usd_low)}–${usd(c.est_usd_high)})</span>`);
  return parts.length ? `<span class="ctx dim"> · ${parts.join(" · ")}</span>` : "";
}

function renderLevels() {
  $("levels").innerHTML = S.levels.map((l) =>
    `<span class="lvl ${l.level}" data-symbol="${esc(l.symbol)}" title="${esc(l.explanation)}"><b>${esc(l.symbol)}</b> ${l.level} ${(100 * l.probability).toFixed(0)}% ${l.direction}${contextHtml(l.context)}</span>`
  ).join("") || '<p class="empty">no active symbol</p>';
}

function factorsHtml(sig) {
  const f = (sig.components && sig.components.factors) || {};
  const parts = Object.entries(f).map(([name, x]) =>
    `<span title="raw ${x.raw}, weight ${x.weight}"><b>${esc(name)}</b> ${(+x.score).toFixed(2)} × ${(+x.weight).toFixed(2)} = ${(+x.contribution).toFixed(3)}<span class="bar" style="width:${Math.round(60 * Math.min(1, x.score))}px"></span></span>`);
  const c = sig.components || {};
  if (c.regime !== undefined) parts.push(`<span><b>regime</b> ${esc(c.regime)} ×${c.regime_multiplier}</span>`);
  if (c.price_move_bps != null) parts.push(`<span><b>BTC move</b> ${c.price_move_bps} bps ×${c.price_move_multiplier}</span>`);
  const mc = c.market_context;
  if (mc && mc.oi_usd != null) parts.push(`<span><b>OI</b> ${usd(mc.oi_usd)}${mc.oi_change_5m_frac == null ? "" : " " + (100 * mc.oi_change_5m_frac).toFixed(1) + "% in 5 min"}</span>`);
  if (mc && mc.funding != null) parts.push(`<span><b>funding</b> ${(100 * mc.funding).toFixed(3)}%/8h</span>`);
  if (c.symbols) parts.push(`<span><b>symbols</b> ${esc(Object.entries(c.symbols).map(([s, l]) => s + " " + l).join(", "))}</span>`);
  const dq = sig.data_quality || {};
  if (dq.venues) parts.push(`<span><b>venues</b> ${esc(dq.venues.join(", "))} (${esc(dq.quality)})</span>`);
  return parts.join("");
}

function renderSignals() {
  const rows = S.signals.slice().reverse().map((s) =>
    `<div class="sig ${s.level}" data-symbol="${esc(s.symbol)}" data-id="${s.id}"><div class="head"><b>${hms(s.ts)}</b><b>${esc(s.symbol)}</b>
      <span>${s.previous} → <b>${s.level}</b></span><span>p ${(100 * s.probability).toFixed(0)}%</span>
      <span class="dim">confidence ${(100 * s.confidence).toFixed(0)}%</span><span class="${s.direction}">${s.direction}</span>
      <span class="dim">${esc(s.regime)}</span></div>
      <div class="explanation">${esc(s.explanation)}</div><div class="factors">${factorsHtml(s)}</div></div>`);
  $("signals").innerHTML = rows.join("") || '<p class="empty">no signal yet</p>';
}

function renderTape() {
  $("tape-min").textContent = `liquidations ≥ ${usd(S.tape_min_usd)}, newest first`;
  $("tape").tBodies[0].innerHTML = S.tape.slice(-100).reverse().map((t) =>
    `<tr><td>${hms(t.ts)}</td><td>${esc(t.exchange)}</td><td>${esc(t.symbol)}</td><td class="${t.side}">${t.side}</td>
     <td class="num">${usd(t.usd)}</td><td class="num">${num(t.price)}</td><td class="num">${num(t.qty)}</td></tr>`).join("");
}

function chartWidth(el) { return Math.max(300, el.clientWidth); }

function renderBars() {
  const el = $("bars"), b = S.bars;
  const data = [b.t, b.long, b.short];
  if (!barsPlot) {
    const bars = uPlot.paths.bars({size: [0.8, 40]});
    barsPlot = new uPlot({
      width: chartWidth(el), height: 230, legend: {show: false},
      axes: [{stroke: "#8a93a3", grid: {stroke: "#2a2f3a"}}, {stroke: "#8a93a3", grid: {stroke: "#2a2f3a"}, size: 70, values: (u, v) => v.map((x) => usd(Math.abs(x)))}],
      series: [{}, {label: "longs", stroke: "#e5484d", fill: "#e5484d", paths: bars, points: {show: false}},
               {label: "shorts", stroke: "#30a46c", fill: "#30a46c", paths: bars, points: {show: false}}],
    }, data, el);
  } else barsPlot.setData(data);
}

function priceData() {
  const byT = new Map();
  for (const [t, p] of S.prices) byT.set(t, [p, null, null]);
  for (const t of S.tape) {
    if (t.symbol !== S.price_symbol) continue;
    const sec = Math.floor(t.ts / 1000), row = byT.get(sec) || [null, null, null];
    row[t.side === "long" ? 1 : 2] = t.price;
    byT.set(sec, row);
  }
  const xs = [...byT.keys()].sort((a, b) => a - b);
  return [xs, xs.map((x) => byT.get(x)[0]), xs.map((x) => byT.get(x)[1]), xs.map((x) => byT.get(x)[2])];
}

function renderPrice() {
  const el = $("price");
  $("price-title").textContent = S.price_symbol;
  const data = priceData();
  if (!pricePlot) {
    const dots = (color) => ({stroke: color, fill: color, paths: () => null, points: {show: true, size: 9, fill: color}});
    pricePlot = new uPlot({
      width: chartWidth(el), height: 230, legend: {show: false},
      axes: [{stroke: "#8a93a3", grid: {stroke: "#2a2f3a"}}, {stroke: "#8a93a3", grid: {stroke: "#2a2f3a"}, size: 70}],
      series: [{}, {label: "price", stroke: "#d8dde6", width: 1.5, spanGaps: true, points: {show: false}},
               {label: "long liquidated", ...dots("#e5484d")}, {label: "short liquidated", ...dots("#30a46c")}],
    }, data, el);
  } else pricePlot.setData(data);
}

function render() {
  const r = S.regime;
  $("regime").textContent = r ? `regime ${r.regime} · ${r.trend}` : "regime –";
  $("clock").textContent = hms(S.now);
  for (const f of [renderTotals, renderVenues, renderLevels, renderSignals, renderTape, renderBars, renderPrice]) {
    try { f(); } catch (e) { console.error(f.name, e); }
  }
  document.body.dataset.ready = "1";
}

function connect() {
  const es = new EventSource("/events");
  es.addEventListener("state", (e) => { S = JSON.parse(e.data); render(); });
  es.addEventListener("delta", (e) => { if (S) { applyDelta(JSON.parse(e.data)); render(); } });
  es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "badge on"; };
  es.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "badge off"; };
}
window.addEventListener("resize", () => {
  if (barsPlot) barsPlot.setSize({width: chartWidth($("bars")), height: 230});
  if (pricePlot) pricePlot.setSize({width: chartWidth($("price")), height: 230});
});
connect();
