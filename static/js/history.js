// The analyst page (templates/history/analysis.html): trends of several sensors from
// /api/history, drag to zoom (fetched again at a finer resolution), a second period overlaid,
// alarm markers from /api/alarms, statistics from /api/history/statistics and export links.
// The selection lives in the URL (?sensors=1,2&start=&end=&compare=), so views can be shared.
import { api } from "./live.js";
import { ALARM_STATES as STATES, SERIES_COLOURS as PALETTE, SEVERITY_COLOURS as SEVERITY, cell, severityCell } from "./ui.js";

(function () {
  const root = document.getElementById("analysis");
  if (!root) return;
  const META = JSON.parse(document.getElementById("sensor-meta").textContent);
  const MAX_SENSORS = Number(root.dataset.maxSensors);
  const $ = (id) => document.getElementById(id);

  let chart = null;
  let zoomStack = [];
  let loading = 0; // ignores answers to requests a newer one replaced

  // --- state in the URL -----------------------------------------------------------------------
  function readState() {
    const q = new URLSearchParams(location.search);
    const now = Date.now();
    const sensors = (q.get("sensors") || "").split(",").map(Number).filter((id) => META[id]);
    let end = Date.parse(q.get("end") || "") || now;
    let start = Date.parse(q.get("start") || "") || end - 86400e3;
    if (start >= end) start = end - 86400e3;
    return { sensors: sensors.slice(0, MAX_SENSORS), start, end, compare: q.get("compare") || "" };
  }

  function writeState(state, push) {
    const q = new URLSearchParams();
    if (state.sensors.length) q.set("sensors", state.sensors.join(","));
    q.set("start", new Date(state.start).toISOString());
    q.set("end", new Date(state.end).toISOString());
    if (state.compare) q.set("compare", state.compare);
    history[push ? "pushState" : "replaceState"](null, "", "?" + q.toString());
  }

  let state = readState();

  // --- controls -------------------------------------------------------------------------------
  const select = $("sensor-select");
  function syncControls() {
    for (const option of select.options) option.selected = state.sensors.includes(Number(option.value));
    $("range-start").value = localInput(state.start);
    $("range-end").value = localInput(state.end);
    $("compare").value = state.compare;
    $("zoom-out").disabled = zoomStack.length === 0;
  }

  function localInput(ms) {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
    return d.toISOString().slice(0, 19);
  }

  function go(changes, { zoom = false } = {}) {
    if (zoom) zoomStack.push({ start: state.start, end: state.end });
    state = { ...state, ...changes };
    writeState(state, true);
    syncControls();
    load();
  }

  $("sensor-filter").addEventListener("input", (event) => {
    const text = event.target.value.trim().toLowerCase();
    for (const option of select.options) option.hidden = text !== "" && !option.text.toLowerCase().includes(text);
  });
  $("show").addEventListener("click", () => {
    const chosen = [...select.selectedOptions].map((o) => Number(o.value));
    if (chosen.length > MAX_SENSORS) {
      setStatus(`Pick at most ${MAX_SENSORS} sensors (${chosen.length} selected).`, true);
      return;
    }
    go({ sensors: chosen });
  });
  select.addEventListener("dblclick", () => $("show").click());
  for (const link of $("presets").querySelectorAll("a")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      zoomStack = [];
      const end = Date.now();
      go({ start: end - Number(link.dataset.span) * 1000, end });
    });
  }
  $("custom-range").addEventListener("submit", (event) => {
    event.preventDefault();
    const start = new Date($("range-start").value).getTime();
    const end = new Date($("range-end").value).getTime();
    if (!(start < end)) {
      setStatus("The start of the range must be before its end.", true);
      return;
    }
    zoomStack = [];
    go({ start, end });
  });
  $("compare").addEventListener("change", (event) => go({ compare: event.target.value }));
  $("zoom-out").addEventListener("click", () => {
    const previous = zoomStack.pop();
    if (previous) go(previous);
  });
  $("limits").addEventListener("submit", (event) => {
    event.preventDefault();
    loadStatistics(loading);
  });
  $("export-resolution").addEventListener("change", updateExports);
  window.addEventListener("popstate", () => {
    state = readState();
    syncControls();
    load();
  });

  // --- data -----------------------------------------------------------------------------------
  function rangeQuery(start, end, extra = {}) {
    return new URLSearchParams({
      sensors: state.sensors.join(","),
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      ...extra,
    }).toString();
  }

  function compareOffset() {
    if (!state.compare) return 0;
    return state.compare === "previous" ? state.end - state.start : Number(state.compare) * 1000;
  }

  function setStatus(text, isError = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", isError);
  }

  async function load() {
    const ticket = ++loading;
    updateExports();
    if (!state.sensors.length) {
      setStatus("Pick one or more sensors and press Show.");
      if (chart) chart.destroy(), (chart = null);
      return;
    }
    const points = Math.max(200, Math.min(4000, Math.round($("chart").clientWidth || 1000)));
    setStatus("Loading…");
    $("stats-note").textContent = "Updating…";
    $("stats").classList.add("stale");
    try {
      const offset = compareOffset();
      const requests = [api(`/api/history?${rangeQuery(state.start, state.end, { points })}`)];
      if (offset) requests.push(api(`/api/history?${rangeQuery(state.start - offset, state.end - offset, { points })}`));
      requests.push(api(`/api/alarms?${alarmQuery()}`));
      const results = await Promise.all(requests);
      const current = results[0];
      const earlier = offset ? results[1] : null;
      const alarms = results[results.length - 1];
      if (ticket !== loading) return;
      draw(current, earlier, offset, alarms.results || []);
      listAlarms(alarms.results || [], alarms.count || 0);
      const rows = current.time.length;
      const what = current.resolution === "raw"
        ? current.bucket_seconds ? `${current.bucket_seconds}-second buckets from raw readings` : "raw readings"
        : `${describeSeconds(current.bucket_seconds)} buckets from the ${current.resolution} rollups`;
      setStatus(`${rows.toLocaleString()} points: ${what}. ${new Date(state.start).toLocaleString()} – ${new Date(state.end).toLocaleString()}.`);
      $("chart").dataset.resolution = current.resolution;
      loadStatistics(ticket);
    } catch (error) {
      if (ticket === loading) setStatus(`Could not load the history: ${error.message}`, true);
    }
  }

  function alarmQuery() {
    const q = new URLSearchParams({
      triggered_after: new Date(state.start).toISOString(),
      triggered_before: new Date(state.end).toISOString(),
      ordering: "triggered_at",
      limit: "500",
    });
    for (const id of state.sensors) q.append("sensor", id);
    return q.toString();
  }

  function describeSeconds(seconds) {
    if (seconds % 86400 === 0) return `${seconds / 86400}-day`;
    if (seconds % 3600 === 0) return `${seconds / 3600}-hour`;
    if (seconds % 60 === 0) return `${seconds / 60}-minute`;
    return `${seconds}-second`;
  }

  // --- chart ----------------------------------------------------------------------------------
  function columns(body, shift) {
    const time = body.time.map((t) => (Date.parse(t) + shift) / 1000);
    const rolled = body.bucket_seconds !== null;
    const cols = [time];
    for (const id of state.sensors) {
      if (rolled) cols.push(body.avg[id], body.min[id], body.max[id]);
      else cols.push(body.value[id]);
    }
    return { cols, rolled };
  }

  function draw(current, earlier, offset, alarms) {
    const now = columns(current, 0);
    const tables = [now.cols];
    if (earlier) tables.push(columns(earlier, offset).cols);
    const data = tables.length > 1 ? uPlot.join(tables) : now.cols;
    const units = [...new Set(state.sensors.map((id) => META[id].unit || ""))];
    const series = [{}];
    const bands = [];
    const hidden = []; // min/max series: they draw the band; the legend shows the average only
    const add = (tableIndex, rolled, dashed) => {
      state.sensors.forEach((id, i) => {
        const colour = PALETTE[i % PALETTE.length];
        const label = `${META[id].label}${dashed ? ` (${offsetLabel(offset)})` : ""}`;
        const scale = META[id].unit || "";
        const base = series.length;
        series.push({ label, scale, stroke: colour, width: dashed ? 1 : 1.5, dash: dashed ? [6, 4] : undefined,
          spanGaps: false, points: { show: false }, value: (u, v) => format(v, id) });
        if (rolled) {
          series.push({ label: `${label} min`, scale, stroke: "transparent", points: { show: false } });
          series.push({ label: `${label} max`, scale, stroke: "transparent", points: { show: false } });
          hidden.push(base + 1, base + 2);
          if (!dashed) bands.push({ series: [base + 2, base + 1], fill: colour + "33" });
        }
      });
    };
    add(0, now.rolled, false);
    if (earlier) add(1, earlier.bucket_seconds !== null, true);
    const axes = [
      { stroke: "#8a9096", grid: { stroke: "#3a3f45", width: 1 }, ticks: { stroke: "#3a3f45" } },
      ...units.slice(0, 2).map((unit, i) => ({
        scale: unit, label: unit, side: i === 0 ? 3 : 1, stroke: "#8a9096",
        grid: { show: i === 0, stroke: "#3a3f45", width: 1 }, ticks: { stroke: "#3a3f45" },
      })),
    ];
    const scales = { x: { time: true, range: () => [state.start / 1000, state.end / 1000] } };
    const width = $("chart").clientWidth - 2;
    const options = {
      width, height: Math.max(260, Math.min(520, Math.round(width * 0.45))),
      series, bands, axes, scales,
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      hooks: { setSelect: [zoomTo], draw: [(u) => drawAlarms(u, alarms)] },
    };
    if (chart) chart.destroy();
    chart = new uPlot(options, data, $("chart"));
    const rows = chart.root.querySelectorAll(".u-legend .u-series");
    for (const index of hidden) rows[index].style.display = "none";
  }

  function zoomTo(u) {
    if (u.select.width < 5) return;
    const start = Math.round(u.posToVal(u.select.left, "x") * 1000);
    const end = Math.round(u.posToVal(u.select.left + u.select.width, "x") * 1000);
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (end - start >= 1000) go({ start, end }, { zoom: true });
  }

  function drawAlarms(u, alarms) {
    const ctx = u.ctx;
    ctx.save();
    ctx.lineWidth = 2 * devicePixelRatio;
    for (const alarm of alarms) {
      const x = u.valToPos(Date.parse(alarm.triggered_at) / 1000, "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.strokeStyle = SEVERITY[alarm.severity] || "#d6d9dc";
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }

  function offsetLabel(offset) {
    const option = $("compare").selectedOptions[0];
    return option && state.compare ? option.text : `${offset / 1000} s earlier`;
  }

  function number(value) {
    if (value === null || value === undefined) return "–";
    return Number(value).toFixed(3).replace(/\.?0+$/, "");
  }

  function format(value, id) {
    return value === null || value === undefined ? "–" : `${number(value)} ${META[id].unit || ""}`.trim();
  }

  // --- alarms, statistics, export ---------------------------------------------------------------
  function listAlarms(alarms, count) {
    const body = $("alarms").tBodies[0];
    body.replaceChildren();
    for (const alarm of alarms) {
      const row = body.insertRow();
      cell(row, new Date(alarm.triggered_at).toLocaleString());
      cell(row, `${alarm.machine_code}/${alarm.sensor_code}`);
      severityCell(row, alarm);
      cell(row, alarm.message);
      cell(row, STATES[alarm.state] || alarm.state);
    }
    if (!alarms.length) cell(body.insertRow(), "No alarms raised in this range.", "muted").colSpan = 5;
    else if (count > alarms.length) cell(body.insertRow(), `… and ${count - alarms.length} more.`, "muted").colSpan = 5;
  }

  async function loadStatistics(ticket) {
    const extra = {};
    if ($("above").value !== "") extra.above = $("above").value;
    if ($("below").value !== "") extra.below = $("below").value;
    const body = $("stats").tBodies[0];
    try {
      const stats = await api(`/api/history/statistics?${rangeQuery(state.start, state.end, extra)}`);
      if (ticket !== loading) return;
      body.replaceChildren();
      const labels = state.sensors.map((id) => META[id].label);
      labels.forEach((label, i) => {
        const figures = stats.sensors[label] || { count: 0 };
        const id = state.sensors[i];
        const row = body.insertRow();
        cell(row, META[id].unit ? `${label} (${META[id].unit})` : label);
        cell(row, figures.count.toLocaleString(), "num");
        const p = figures.percentiles || {};
        for (const value of [figures.mean, figures.std, figures.min, p["5"], p["50"], p["95"], figures.max]) {
          cell(row, number(value), "num");
        }
        cell(row, duration(figures.seconds_above), "num");
        cell(row, duration(figures.seconds_below), "num");
      });
      $("stats-note").textContent = stats.approximate
        ? "More readings than the raw limit: count, mean, min and max are exact; std and percentiles come from 1-minute averages."
        : "From every raw reading in the range.";
      drawCorrelation(stats.correlation);
      $("stats").classList.remove("stale");
    } catch (error) {
      if (ticket === loading) $("stats-note").textContent = `Statistics unavailable: ${error.message}`;
    }
  }

  function duration(seconds) {
    if (seconds === undefined || seconds === null) return "–";
    if (seconds < 120) return `${Math.round(seconds)} s`;
    if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  function drawCorrelation(correlation) {
    const table = $("correlation");
    table.hidden = correlation.sensors.length < 2;
    const head = table.tHead;
    head.replaceChildren();
    const top = head.insertRow();
    cell(top, "");
    for (const label of correlation.sensors) cell(top, label, "num");
    const body = table.tBodies[0];
    body.replaceChildren();
    correlation.matrix.forEach((values, i) => {
      const row = body.insertRow();
      cell(row, correlation.sensors[i]);
      for (const value of values) cell(row, value === null ? "–" : value.toFixed(2), "num");
    });
  }

  function updateExports() {
    const ok = state.sensors.length > 0;
    const resolution = $("export-resolution").value;
    for (const format of ["csv", "parquet"]) {
      const link = $(`export-${format}`);
      link.href = ok ? `/api/history/export?${rangeQuery(state.start, state.end, { format, resolution })}` : "#";
      link.setAttribute("aria-disabled", String(!ok));
    }
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => chart && chart.setSize({ width: $("chart").clientWidth - 2, height: chart.height }), 150);
  });

  writeState(state, false);
  syncControls();
  load();
})();
