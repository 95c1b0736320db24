// The live graphs: one panel per signal, fed by the server-sent events of /api/signals.
// window.bfSignals.latest[kind] holds the last point of each signal: what the page shows as numbers, and what a test reads.
"use strict";
const WINDOW = 120;  // points kept on screen per signal
const bfSignals = {
  latest: {}, panels: {}, entry: null,
  connect(container, note) {
    const source = new EventSource("/api/signals");
    source.onopen = () => { note.textContent = "live"; };
    source.onerror = () => { note.textContent = "reconnecting…"; };
    source.onmessage = message => this.receive(container, JSON.parse(message.data));
  },
  receive(container, point) {
    if (point.kind === "instance") {
      this.entry = point.entry; this.latest = {};
      for (const panel of Object.values(this.panels)) panel.box.remove();
      this.panels = {};
      for (const problem of point.problems) container.append(bf.el("p", problem, "bad"));
      return;
    }
    const kind = KINDS[point.kind];
    if (!kind) return;
    let panel = this.panels[point.kind];
    if (!panel) panel = this.panels[point.kind] = this.panel(container, point.kind, kind);
    this.latest[point.kind] = point.value;
    kind.add(panel, point);
    panel.headline.textContent = kind.headline(panel, point.value);
    if (panel.data[0].length > WINDOW) panel.data.forEach(series => series.splice(0, series.length - WINDOW));
    panel.plot.setData(panel.data);
  },
  panel(container, name, kind) {
    const box = bf.el("div", null, "signal"); box.dataset.signal = name;
    box.append(bf.el("h3", kind.title));
    const headline = bf.el("div", "", "headline"); box.append(headline);
    const chart = bf.el("div"); box.append(chart);
    const events = bf.el("ul", null, "dim"); box.append(events);
    container.append(box);
    const data = kind.series.map(() => []);
    data.unshift([]);
    const plot = new uPlot({ width: Math.min(1000, container.clientWidth - 30), height: 220, scales: kind.scales || { x: { time: true } },
      series: [{}, ...kind.series], axes: kind.axes }, data, chart);
    return { box, headline, plot, data, events, state: {} };
  },
};
const pct = value => `${Math.round(value * 100)}%`;
const red = "#b3261e", green = "#137333", grey = "#6b7280", blue = "#1a73e8", amber = "#e8710a";
const KINDS = {
  "http-status": {
    title: "HTTP status mix per second through the entry point",
    scales: { x: { time: true }, share: { range: [0, 100] } },
    series: [
      { label: "2xx/s", stroke: green }, { label: "4xx/s", stroke: amber }, { label: "5xx/s", stroke: red },
      { label: "no response/s", stroke: grey }, { label: "502 share %", stroke: red, dash: [6, 4], scale: "share" },
    ],
    axes: [{}, { label: "requests/s" }, { side: 1, scale: "share", label: "%", grid: { show: false } }],
    add(panel, point) {
      const counts = { 2: 0, 4: 0, 5: 0, 0: 0 };
      for (const [status, count] of Object.entries(point.value.statuses || {})) counts[status === "0" ? 0 : Math.floor(status / 100)] += count;
      const row = [point.at, counts[2], counts[4], counts[5], counts[0], 100 * (point.value.share_502 || 0)];
      row.forEach((value, index) => panel.data[index].push(value));
    },
    headline(panel, value) {
      return value.error ? value.error : `502 share ${pct(value.share_502)} · 5xx ${pct(value.share_5xx)} of ${value.total} requests in the last second`;
    },
  },
  memory: {
    title: "Resident memory against the memory limit",
    series: [{ label: "RSS MiB", stroke: blue }, { label: "limit MiB", stroke: red, dash: [6, 4] },
             { label: "restart / OOM kill", stroke: red, fill: red, paths: () => null, points: { show: true, size: 10 } }],
    add(panel, point) {
      const v = point.value, mib = n => (n == null ? null : n / 1048576);
      const restarted = panel.state.restarts !== undefined && v.restarts > panel.state.restarts;
      if (restarted) panel.events.prepend(bf.el("li", `${new Date(point.at * 1000).toLocaleTimeString()}: restart #${v.restarts}${v.oom_killed ? " (OOM kill)" : ""}`));
      panel.state.restarts = v.restarts;
      [point.at, mib(v.rss), mib(v.limit), restarted ? mib(v.limit) : null].forEach((value, index) => panel.data[index].push(value));
    },
    headline(panel, v) {
      if (v.error) return v.error;
      const share = v.limit && v.rss != null ? ` (${pct(v.rss / v.limit)} of the limit)` : "";
      return `${v.service}: ${v.status}, RSS ${v.rss == null ? "?" : (v.rss / 1048576).toFixed(1)} MiB${share}, restarts ${v.restarts}${v.oom_killed ? ", last exit an OOM kill" : ""}`;
    },
  },
  "terraform-lock": {
    title: "Terraform workspaces: lock and state serial",
    series: [],
    add(panel, point) {
      const workspaces = point.value.workspaces || [];
      if (!panel.state.names) {
        panel.state.names = workspaces.map(w => w.workspace);
        for (const [index, name] of panel.state.names.entries()) {
          panel.plot.addSeries({ label: `${name} serial`, stroke: [blue, amber, green, grey][index % 4] });
          panel.plot.addSeries({ label: `${name} locked`, stroke: red, paths: () => null, points: { show: true, size: 8 } });
          panel.data.push([], []);
        }
      }
      panel.data[0].push(point.at);
      panel.state.names.forEach((name, index) => {
        const w = workspaces.find(item => item.workspace === name) || {};
        panel.data[1 + 2 * index].push(w.serial ?? null);
        panel.data[2 + 2 * index].push(w.locked ? (w.serial ?? 0) : null);
      });
    },
    headline(panel, v) {
      if (v.error) return v.error;
      return (v.workspaces || []).map(w => `${w.workspace}: serial ${w.serial ?? "?"}, ` +
        (w.locked ? `locked (${(w.lock || {}).Operation || "?"} by ${(w.lock || {}).Who || "?"})` : "unlocked")).join(" · ");
    },
  },
  "lab-grading": {
    title: "Grading runs of this attempt",
    series: [{ label: "passed", stroke: green }, { label: "failed", stroke: red }],
    add(panel, point) {
      panel.data.forEach(series => series.splice(0));
      for (const run of point.value.runs || []) { panel.data[0].push(run.at); panel.data[1].push(run.passed); panel.data[2].push(run.failed); }
      panel.events.replaceChildren(...Object.entries(point.value.failing || {}).map(([id, message]) => bf.el("li", `${id}: ${message}`)));
    },
    headline(panel, v) {
      const last = (v.runs || []).slice(-1)[0];
      return last ? `last run: ${last.passed} passed, ${last.failed} failed` : "no grading run yet: press check";
    },
  },
};
window.bfSignals = bfSignals;
