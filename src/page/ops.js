// The operator's page (docs/page.md): asks its node for /cluster every
// poll_ms with the operator token and draws what it says. Nothing here
// talks to any other host: the node asks its peers for their status.
'use strict';

const POLL_MS = 500;
const HISTORY = 240;          // chart points kept: two minutes at 500 ms
const LAG_ALERT = 1000;       // messages behind the stream
const STALL_MS = 5000;        // applied sequence still while behind
const COLOURS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989'];

const view = {
  token: null, timer: null, known: new Map(), history: new Map(),
  latency: [], lastTotals: null,
};

function $(id) { return document.getElementById(id); }

function takeToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem('nodown-token', decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('nodown-token');
}

function showLogin(message) {
  $('login').classList.add('shown');
  $('login-error').textContent = message || '';
  setState('token', message ? 'the token was refused' : 'needs the operator token');
}

function setState(state, text) {
  $('state').dataset.state = state;
  $('state').textContent = text;
}

function cell(row, field, text, cls) {
  const td = document.createElement('td');
  td.dataset.field = field;
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

// Every node the answer names: this node first, then its peers.
function nodesOf(cluster) {
  const nodes = [{ address: location.host, up: true, self: true, status: cluster.self }];
  for (const peer of cluster.peers) nodes.push(peer);
  for (const node of nodes) {
    if (node.up) view.known.set(node.address, node.status);
    node.last = view.known.get(node.address) || null;
    node.id = node.last ? node.last.node_id : null;
  }
  return nodes;
}

function rate(node, now) {
  if (!node.up) return null;
  const key = node.address;
  const series = view.history.get(key) || [];
  const total = node.status.orders_total;
  const before = series.length ? series[series.length - 1] : null;
  let perSecond = null;
  if (before && now > before.at && total >= before.total)
    perSecond = Math.round((total - before.total) * 1000 / (now - before.at));
  series.push({ at: now, total: total, rate: perSecond, applied: node.status.applied_seq });
  if (series.length > HISTORY) series.shift();
  view.history.set(key, series);
  return perSecond;
}

function renderNodes(nodes, now) {
  const body = $('nodes');
  body.textContent = '';
  for (const node of nodes) {
    const s = node.up ? node.status : node.last;
    const row = document.createElement('tr');
    row.dataset.node = node.id !== null ? String(node.id) : node.address;
    row.dataset.up = node.up ? '1' : '0';
    if (!node.up) row.className = 'down';
    cell(row, 'node', node.id !== null ? String(node.id) : '?');
    cell(row, 'address', node.address + (node.self ? ' (this page)' : ''));
    cell(row, 'state', node.up ? (s.stopped ? 'stopped' : 'up') : 'DOWN: ' + node.error,
         node.up && !s.stopped ? 'ok' : 'bad');
    cell(row, 'site', s ? s.site : '');
    cell(row, 'applied_seq', s ? String(s.applied_seq) : '');
    cell(row, 'lag', s ? String(s.lag) : '', s && s.lag > LAG_ALERT ? 'bad' : '');
    cell(row, 'digest', s ? s.digest.slice(0, 16) + ' (' + s.digest_seq + ')' : '');
    cell(row, 'logic_version', s ? String(s.logic_version) : '');
    cell(row, 'release', s && s.build ? s.build.release : '');
    cell(row, 'snapshot_seq', s ? String(s.snapshot_seq) : '');
    cell(row, 'audit', s && s.audit ? s.audit.runs + ': ' + s.audit.last : '');
    cell(row, 'nats', s ? (s.nats.connected ? 'connected' : 'NOT connected') : '',
         s && !s.nats.connected ? 'bad' : '');
    const r = rate(node, now);
    cell(row, 'orders_per_s', r === null ? '' : String(r));
    body.appendChild(row);
  }
}

function renderStream(nodes) {
  const body = $('stream');
  body.textContent = '';
  const line = (label, text, field, cls) => {
    const row = document.createElement('tr');
    const th = document.createElement('th');
    th.textContent = label;
    row.appendChild(th);
    cell(row, field, text, cls);
    body.appendChild(row);
  };
  const primary = nodes.find((n) => n.up && n.status.site === 'primary' && n.status.stream_info);
  if (!primary) { line('stream', 'no node reports it', 'stream', 'bad'); return; }
  const info = primary.status.stream_info;
  line('stream ' + primary.status.stream, 'sequences ' + info.first_seq + '..' + info.last_seq,
       'stream_seq');
  line('leader', info.leader || '(a single server)', 'leader');
  for (const replica of info.replicas)
    line('server ' + replica.name,
         replica.offline ? 'OFFLINE' : (replica.current ? 'current' : 'behind by ' + replica.lag),
         'replica', replica.offline || replica.lag > LAG_ALERT ? 'bad' : 'ok');
  for (const node of nodes)
    if (node.up && node.status.site === 'disaster-recovery' && node.status.stream_info)
      line('DR site (node ' + node.id + ')',
           node.status.stream_info.mirror_lag + ' messages behind, heard from '
           + node.status.stream_info.mirror_active_ms + ' ms ago', 'dr_lag',
           node.status.stream_info.mirror_lag > LAG_ALERT ? 'bad' : 'ok');
}

function alertsOf(nodes, now) {
  const alerts = [];
  const up = nodes.filter((n) => n.up);
  for (const node of nodes) {
    const name = 'Node ' + (node.id !== null ? node.id : '?') + ' (' + node.address + ')';
    if (!node.up) { alerts.push(name + ' is not answering: ' + node.error + '.'); continue; }
    const s = node.status;
    if (s.stopped) alerts.push(name + ' has stopped applying the stream: ' + s.stopped + '.');
    if (!s.nats.connected) alerts.push(name + ' has lost its connection to NATS.');
    if (s.lag > LAG_ALERT) alerts.push(name + ' is ' + s.lag + ' messages behind the stream.');
    const series = view.history.get(node.address) || [];
    const still = series.filter((p) => p.applied === s.applied_seq);
    if (s.lag > 0 && still.length > 1 && now - still[0].at >= STALL_MS)
      alerts.push(name + ' has applied nothing for ' + Math.round((now - still[0].at) / 1000)
                  + ' s while ' + s.lag + ' messages wait: the stream looks stalled.');
  }
  for (let i = 0; i < up.length; i++)
    for (let j = i + 1; j < up.length; j++) {
      const a = up[i].status, b = up[j].status;
      if (a.digest_seq === b.digest_seq && a.digest_seq > 0 && a.digest !== b.digest)
        alerts.push('Nodes ' + a.node_id + ' and ' + b.node_id + ' DIVERGE: their states differ'
                    + ' at stream sequence ' + a.digest_seq + '.');
    }
  const primary = up.find((n) => n.status.stream_info);
  if (primary)
    for (const replica of primary.status.stream_info.replicas)
      if (replica.offline) alerts.push('NATS server ' + replica.name + ' is offline.');
  return alerts;
}

function renderAlerts(alerts) {
  const list = $('alerts');
  list.textContent = '';
  if (alerts.length === 0) alerts = [null];
  for (const text of alerts) {
    const item = document.createElement('li');
    item.textContent = text === null ? 'none: every node answers and agrees' : text;
    item.className = text === null ? 'none' : 'bad';
    list.appendChild(item);
  }
}

function renderUpgrades(nodes) {
  const up = nodes.filter((n) => n.up);
  const group = (key) => {
    const seen = new Map();
    for (const n of up) {
      const value = key(n.status);
      seen.set(value, (seen.get(value) || []).concat([n.id]));
    }
    return seen;
  };
  const lines = [];
  const releases = group((s) => (s.build ? s.build.release : '?'));
  if (releases.size > 1)
    lines.push('Rolling upgrade in progress: ' + [...releases].map(([r, ids]) =>
      'release ' + r + ' on node ' + ids.join(', ')).join('; ') + '.');
  const logic = group((s) => s.logic_version);
  if (logic.size > 1)
    lines.push('Logic version activation in progress: ' + [...logic].map(([v, ids]) =>
      'logic ' + v + ' on node ' + ids.join(', ')).join('; ') + '.');
  const ready = up.length > 0 && up.every((n) =>
    n.status.logic_versions_supported[1] > n.status.logic_version);
  if (ready)
    lines.push('Every node can run logic version ' +
      Math.min(...up.map((n) => n.status.logic_versions_supported[1])) + ': not activated yet.');
  $('upgrades').textContent = lines.length ? lines.join(' ') : 'none in progress';
}

// p50 and p99 of the acknowledgements of the last few looks, all nodes.
function latencyPoint(nodes, now) {
  let le = null;
  const totals = [];
  for (const n of nodes)
    if (n.up && n.status.ack_us) {
      le = n.status.ack_us.le;
      n.status.ack_us.counts.forEach((c, i) => { totals[i] = (totals[i] || 0) + c; });
    }
  if (le === null) return;
  const before = view.lastTotals;
  view.lastTotals = totals;
  if (!before) return;
  const delta = totals.map((c, i) => Math.max(0, c - (before[i] || 0)));
  const count = delta.reduce((a, b) => a + b, 0);
  const quantile = (q) => {
    let seen = 0;
    for (let i = 0; i < delta.length; i++) {
      seen += delta[i];
      if (seen >= q * count) return (i < le.length ? le[i] : le[le.length - 1]) / 1000;
    }
    return null;
  };
  view.latency.push({ at: now, p50: count ? quantile(0.5) : null,
                      p99: count ? quantile(0.99) : null });
  if (view.latency.length > HISTORY) view.latency.shift();
}

function drawChart(canvas, lines, legend) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * ratio;
  canvas.height = canvas.clientHeight * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  const w = canvas.clientWidth, h = canvas.clientHeight;
  let top = 1;
  for (const line of lines) for (const v of line.values) if (v !== null) top = Math.max(top, v);
  g.strokeStyle = '#eceef1';
  g.fillStyle = '#57606a';
  g.font = '11px sans-serif';
  for (let k = 0; k <= 4; k++) {
    const y = h - 14 - (h - 24) * k / 4;
    g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke();
    g.fillText(String(Math.round(top * k / 4 * 10) / 10), 2, y - 2);
  }
  legend.textContent = '';
  lines.forEach((line, index) => {
    g.strokeStyle = COLOURS[index % COLOURS.length];
    g.lineWidth = 1.5;
    g.beginPath();
    let moved = false;
    line.values.forEach((v, i) => {
      if (v === null) { moved = false; return; }
      const x = w * (i + HISTORY - line.values.length) / (HISTORY - 1), y = h - 14 - (h - 24) * v / top;
      if (moved) g.lineTo(x, y); else g.moveTo(x, y);
      moved = true;
    });
    g.stroke();
    const key = document.createElement('span');
    key.style.color = g.strokeStyle;
    key.textContent = '\u25A0 ' + line.name;
    legend.appendChild(key);
  });
}

function renderCharts(nodes) {
  const orders = nodes.filter((n) => view.history.has(n.address)).map((n) => ({
    name: 'node ' + (n.id !== null ? n.id : n.address),
    values: view.history.get(n.address).map((p) => p.rate),
  }));
  drawChart($('chart-orders'), orders, $('legend-orders'));
  drawChart($('chart-latency'), [
    { name: 'p50', values: view.latency.map((p) => p.p50) },
    { name: 'p99', values: view.latency.map((p) => p.p99) },
  ], $('legend-latency'));
}

function render(cluster) {
  const now = cluster.now_ms;
  const nodes = nodesOf(cluster);
  renderNodes(nodes, now);
  renderStream(nodes);
  renderAlerts(alertsOf(nodes, now));
  renderUpgrades(nodes);
  latencyPoint(nodes, now);
  renderCharts(nodes);
  $('served-by').textContent = 'served by node ' + cluster.self.node_id + ' at ' + location.host;
  $('clock').textContent = new Date(now).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  const down = nodes.filter((n) => !n.up).length;
  setState(down ? 'degraded' : 'live', down ? down + ' node(s) down' : 'live');
}

async function poll() {
  try {
    const answer = await fetch('/cluster', {
      headers: { Authorization: 'Bearer ' + view.token }, cache: 'no-store',
    });
    if (answer.status === 401) {
      sessionStorage.removeItem('nodown-token');
      view.token = null;
      showLogin('The node refused this token.');
      return;
    }
    if (!answer.ok) throw new Error('the node answered ' + answer.status);
    $('login').classList.remove('shown');
    render(await answer.json());
  } catch (error) {
    setState('error', 'this node does not answer: ' + error.message);
  }
  view.timer = setTimeout(poll, POLL_MS);
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  view.token = $('token').value.trim();
  sessionStorage.setItem('nodown-token', view.token);
  clearTimeout(view.timer);
  poll();
});

function start() {
  view.token = takeToken();
  clearTimeout(view.timer);
  if (view.token) poll(); else showLogin('');
}

window.addEventListener('hashchange', start);
start();
