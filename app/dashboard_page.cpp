#include "app/dashboard_page.hpp"

namespace portier::app {

namespace {

constexpr std::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>portier</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard.css">
<script src="dashboard.js" defer></script>
</head>
<body>
<header><h1 id="title">portier</h1><span id="version"></span><span id="updated"></span></header>
<main>
<section id="overview"><h2>Overview</h2><div class="body"></div></section>
<section id="entrypoints"><h2>Entrypoints</h2><div class="body"></div></section>
<section id="http-routers"><h2>HTTP routers</h2><div class="body"></div></section>
<section id="tcp-routers"><h2>TCP routers</h2><div class="body"></div></section>
<section id="udp-routers"><h2>UDP routers</h2><div class="body"></div></section>
<section id="services"><h2>Services</h2><div class="body"></div></section>
<section id="middlewares"><h2>Middlewares</h2><div class="body"></div></section>
<section id="docker"><h2>Docker daemons</h2><div class="body"></div></section>
<section id="certificates"><h2>Certificates</h2><div class="body"></div></section>
<section id="ports"><h2>Dynamic ports</h2><div class="body"></div></section>
<section id="errors"><h2>Configuration errors</h2><div class="body"></div></section>
</main>
</body>
</html>
)HTML";

constexpr std::string_view kStyle = R"CSS(
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { display: flex; gap: 1.5em; align-items: baseline; padding: .6em 1.2em; background: #1f3a5f; color: #fff; }
header h1 { font-size: 1.3em; margin: 0; }
main { padding: 0 1.2em 2em; }
section { background: #fff; border: 1px solid #dde; border-radius: 4px; margin-top: 1em; padding: .2em 1em .8em; }
h2 { font-size: 1.05em; margin: .6em 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2em .6em; border-bottom: 1px solid #eee; vertical-align: top; }
th { font-weight: 600; color: #555; }
.enabled, .UP, .connected, .good { color: #186a2c; }
.disabled, .DOWN, .reconnecting, .bad { color: #b00020; }
.warning { color: #a86400; }
.error { color: #b00020; }
.muted { color: #777; }
)CSS";

constexpr std::string_view kScript = R"JS('use strict';
// Every value shown comes from portier's own API and is written with textContent (never as
// HTML): names, rules and label errors come from outside input.
const POLL_MS = 2000;
let previousCounts = null;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function table(headers, rows) {
  if (rows.length === 0) return el('p', 'none', 'muted');
  const t = el('table');
  const head = el('tr');
  for (const h of headers) head.appendChild(el('th', h));
  t.appendChild(head);
  for (const row of rows) {
    const tr = el('tr');
    for (const cell of row) {
      const td = el('td');
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === undefined ? '' : String(cell);
      tr.appendChild(td);
    }
    t.appendChild(tr);
  }
  return t;
}

function fill(id, node) {
  const body = document.querySelector('#' + id + ' .body');
  body.replaceChildren(node);
}

function status(text) { return el('span', text, text); }

function lines(items, cls) {
  const d = el('div');
  for (const i of items || []) d.appendChild(el('div', i, cls));
  return d;
}

async function getJson(path) {
  const r = await fetch(path, {cache: 'no-store'});
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}

function rate(kind, name, counts, seconds) {
  if (!counts || !previousCounts || !seconds) return '';
  const now = (counts[kind] || {})[name] || 0;
  const before = (previousCounts.counts[kind] || {})[name] || 0;
  return ((now - before) / seconds).toFixed(2) + ' req/s';
}

function routers(id, items) {
  const rows = Object.entries(items || {}).map(([name, r]) => [
    name, r.rule || '', (r.entryPoints || []).join(', '), r.service || '', status(r.status), lines(r.error, 'error')]);
  fill(id, table(['Name', 'Rule', 'Entrypoints', 'Service', 'Status', 'Errors'], rows));
}

function services(raw, requests, seconds) {
  const rows = [];
  for (const key of ['services', 'tcpServices', 'udpServices']) {
    for (const [name, s] of Object.entries(raw[key] || {})) {
      const type = Object.keys(s).find(k => typeof s[k] === 'object' && k !== 'serverStatus' && k !== 'usedBy' && k !== 'error');
      const servers = el('div');
      for (const [url, st] of Object.entries(s.serverStatus || {})) {
        const line = el('div', url + ' ');
        line.appendChild(status(st));
        servers.appendChild(line);
      }
      rows.push([name, key === 'services' ? 'http' : key.slice(0, 3), type || '', status(s.status), servers,
                 rate('services', name, requests, seconds)]);
    }
  }
  fill('services', table(['Name', 'Kind', 'Type', 'Status', 'Servers', 'Requests'], rows));
}

function middlewares(raw) {
  const rows = [];
  for (const key of ['middlewares', 'tcpMiddlewares']) {
    for (const [name, m] of Object.entries(raw[key] || {})) {
      const type = Object.keys(m).find(k => typeof m[k] === 'object' && k !== 'usedBy' && k !== 'error');
      rows.push([name, type || '', status(m.status), (m.usedBy || []).join(', ')]);
    }
  }
  fill('middlewares', table(['Name', 'Type', 'Status', 'Used by'], rows));
}

function docker(portier) {
  const box = el('div');
  for (const d of portier.docker || []) {
    const head = el('h3', d.endpoint + ' ');
    head.appendChild(status(d.status));
    box.appendChild(head);
    box.appendChild(table(['Container', 'State', 'Health', 'Label errors'], (d.containers || []).map(c => [
      c.name, c.state, c.health || '', lines((c.errors || []).map(e => (e.label ? e.label + ': ' : '') + e.message), 'error')])));
  }
  if (!portier.docker || portier.docker.length === 0) box.appendChild(el('p', 'no Docker provider', 'muted'));
  fill('docker', box);
}

function certificates(portier) {
  fill('certificates', table(['Names', 'Issuer', 'Expires', 'Source', 'Status', 'OCSP'], (portier.certificates || []).map(c => [
    (c.names || []).join(', '), c.issuer || '', c.not_after || '', c.source || '', c.status || '',
    c.ocsp ? c.ocsp.status + (c.ocsp.next_update ? ' until ' + c.ocsp.next_update : '') : 'none'])));
}

function ports(portier) {
  const rows = [];
  for (const proto of ['tcp', 'udp'])
    for (const p of (portier.ports || {})[proto] || []) rows.push([proto, p.port, p.service, p.target]);
  fill('ports', table(['Protocol', 'Port', 'Service', 'Target'], rows));
}

function overview(o) {
  const rows = [];
  for (const proto of ['http', 'tcp', 'udp'])
    for (const [kind, s] of Object.entries(o[proto] || {})) rows.push([proto + ' ' + kind, s.total, s.warnings, s.errors]);
  fill('overview', table(['', 'Total', 'Warnings', 'Errors'], rows));
}

function entrypoints(list, requests, seconds) {
  fill('entrypoints', table(['Name', 'Address', 'Requests'], list.map(e => [
    e.name, e.address, requests ? rate('entrypoints', e.name, requests, seconds) : 'metrics.prometheus is off'])));
}

async function refresh() {
  const [o, eps, raw, portier] = await Promise.all([
    getJson('/api/overview'), getJson('/api/entrypoints?per_page=1000'), getJson('/api/rawdata'), getJson('/api/portier')]);
  const now = Date.now();
  const requests = portier.requests || null;
  const seconds = previousCounts ? (now - previousCounts.at) / 1000 : 0;
  overview(o);
  entrypoints(eps, requests, seconds);
  routers('http-routers', raw.routers);
  routers('tcp-routers', raw.tcpRouters);
  routers('udp-routers', raw.udpRouters);
  services(raw, requests, seconds);
  middlewares(raw);
  docker(portier);
  certificates(portier);
  ports(portier);
  fill('errors', table(['Provider', 'Source', 'Key', 'Message'], (portier.errors || []).map(e => [e.provider, e.source, e.label, e.message])));
  if (requests) previousCounts = {at: now, counts: requests};
  document.getElementById('updated').textContent = 'updated ' + new Date(now).toLocaleTimeString();
}

async function start() {
  const v = await getJson('/api/version');
  document.getElementById('version').textContent = v.Version;
  if (v.dashboardName) {
    document.title = v.dashboardName;
    document.getElementById('title').textContent = v.dashboardName;
  }
  for (;;) {
    try {
      await refresh();
    } catch (e) {
      document.getElementById('updated').textContent = 'update failed: ' + e.message;
    }
    await new Promise(resolve => setTimeout(resolve, POLL_MS));
  }
}

start();
)JS";

}  // namespace

std::optional<DashboardFile> dashboard_file(std::string_view name) {
  if (name == "/" || name == "/index.html") return DashboardFile{"text/html; charset=utf-8", kPage};
  if (name == "/dashboard.js") return DashboardFile{"text/javascript; charset=utf-8", kScript};
  if (name == "/dashboard.css") return DashboardFile{"text/css; charset=utf-8", kStyle};
  return std::nullopt;
}

}  // namespace portier::app
