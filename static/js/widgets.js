// The board widgets. Each type: create(body, config, context) -> {readings(changed), alarms(),
// refresh(), resize(), destroy()}, the sensors it needs live, its default title and size. Colour
// only for abnormal states (ISA-101): values are grey until beyond an alarm limit, in that limit's
// severity.
import { api } from "./live.js";
import {
  age, isStale as staleSince, severityDot, ALARM_STATES as STATES, UNACKNOWLEDGED, SERIES_COLOURS as PALETTE,
  SEVERITY_COLOURS as SEVERITY,
} from "./ui.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function bottom(grid) {
  return Math.max(0, ...grid.save(false).map((n) => (n.y || 0) + (n.h || 1)));
}

function reading(context, id) {
  return context.values.get(String(id)) || null;
}

function isStale(context, id, [ts]) {
  return staleSince(ts, context.SENSORS[id]?.interval);
}

// A widget showing one sensor's newest value redraws on its readings, when the alarm limits have
// arrived (refresh) and every 5 s (its age and staleness change with time alone).
function followSensor(config, draw) {
  const timer = setInterval(draw, 5000);
  draw();
  return {
    readings: (changed) => String(config.sensor) in changed && draw(),
    refresh: draw,
    destroy: () => clearInterval(timer),
  };
}

// The most severe alarm limit the value is beyond (a rule's setpoint, as the alarms use it).
function beyond(context, id, value) {
  let worst = null;
  const order = ["critical", "high", "medium", "low"];
  for (const rule of context.limits[id] || []) {
    const over = rule.kind.startsWith("hi") ? value > rule.setpoint : value < rule.setpoint;
    if (over && (!worst || order.indexOf(rule.severity) < order.indexOf(worst))) worst = rule.severity;
  }
  return worst;
}

function scale(config, sensor) {
  const low = config.min ?? sensor.min ?? 0;
  const high = config.max ?? sensor.max ?? 100;
  return high > low ? [low, high] : [low, low + 1];
}

function sensorTitle(config, context) {
  const sensor = context.SENSORS[config.sensor];
  return sensor ? `${sensor.label} · ${sensor.name}` : "Sensor";
}

// --- KPI: value, unit, trend arrow over the last minute, coloured beyond a limit ------------------
const kpi = {
  defaultTitle: sensorTitle,
  sensors: (config) => [config.sensor],
  size: (grid) => ({ x: 0, y: bottom(grid), w: 3, h: 2 }),
  create(body, config, context) {
    const sensor = context.SENSORS[config.sensor];
    const value = el("span", "kpi-number", "–");
    const unit = el("span", "kpi-unit", sensor.unit);
    const arrow = el("span", "kpi-trend", "");
    const since = el("div", "muted kpi-since", "");
    body.append(el("div", "kpi-line"), since);
    body.firstChild.append(value, unit, arrow);
    const recent = []; // [ts, value] of the last minute
    function draw() {
      const r = reading(context, config.sensor);
      if (!r) return;
      if (!recent.length || r[0] > recent.at(-1)[0]) recent.push([r[0], r[1]]);
      while (recent.length > 2 && recent[0][0] < r[0] - 60) recent.shift();
      value.textContent = Number(r[1]).toFixed(sensor.decimals);
      const [low, high] = scale(config, sensor);
      const change = recent.length > 1 ? r[1] - recent[0][1] : 0;
      const flat = Math.abs(change) < (high - low) * 0.005;
      arrow.textContent = flat ? "→" : change > 0 ? "↑" : "↓";
      arrow.title = flat ? "steady over the last minute" : `${change > 0 ? "+" : ""}${change.toFixed(sensor.decimals)} in the last minute`;
      const severity = beyond(context, config.sensor, r[1]);
      body.style.setProperty("--alarm", severity ? SEVERITY[severity] : "");
      body.classList.toggle("abnormal", Boolean(severity));
      body.classList.toggle("stale", isStale(context, config.sensor, r));
      body.classList.toggle("quality-bad", r[2] === 2);
      since.textContent = age(Date.now() / 1000 - r[0]);
    }
    return followSensor(config, draw);
  },
};

// --- Gauge: a 240° arc between the scale's ends ---------------------------------------------------------
const gauge = {
  defaultTitle: sensorTitle,
  sensors: (config) => [config.sensor],
  size: (grid) => ({ x: 0, y: bottom(grid), w: 3, h: 3 }),
  create(body, config, context) {
    const sensor = context.SENSORS[config.sensor];
    const [low, high] = scale(config, sensor);
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 120 100");
    svg.classList.add("gauge");
    const arc = (fraction) => {
      const start = (-210 * Math.PI) / 180;
      const end = start + (fraction * 240 * Math.PI) / 180;
      const point = (angle) => `${60 + 48 * Math.cos(angle)} ${60 + 48 * Math.sin(angle)}`;
      return `M ${point(start)} A 48 48 0 ${fraction > 0.75 ? 1 : 0} 1 ${point(end)}`;
    };
    const track = document.createElementNS(NS, "path");
    track.setAttribute("d", arc(1));
    track.setAttribute("class", "gauge-track");
    const fill = document.createElementNS(NS, "path");
    fill.setAttribute("class", "gauge-fill");
    const text = document.createElementNS(NS, "text");
    text.setAttribute("x", "60");
    text.setAttribute("y", "64");
    text.setAttribute("class", "gauge-value");
    const unit = document.createElementNS(NS, "text");
    unit.setAttribute("x", "60");
    unit.setAttribute("y", "80");
    unit.setAttribute("class", "gauge-unit");
    unit.textContent = `${sensor.unit} (${low}–${high})`;
    svg.append(track, fill, text, unit);
    body.append(svg);
    function draw() {
      const r = reading(context, config.sensor);
      if (!r) return;
      const fraction = Math.min(1, Math.max(0, (r[1] - low) / (high - low)));
      fill.setAttribute("d", arc(Math.max(fraction, 0.001)));
      text.textContent = Number(r[1]).toFixed(sensor.decimals);
      const severity = beyond(context, config.sensor, r[1]);
      fill.style.stroke = severity ? SEVERITY[severity] : "";
      body.classList.toggle("stale", isStale(context, config.sensor, r));
    }
    return followSensor(config, draw);
  },
};

// --- Status: a lamp for a machine (status, worst open alarm) or a state sensor (on/off) ----------
const status = {
  defaultTitle: (config, context) =>
    config.machine ? `${context.MACHINES[config.machine]?.code} · ${context.MACHINES[config.machine]?.name}` : sensorTitle(config, context),
  sensors: (config) => (config.sensor ? [config.sensor] : []),
  size: (grid) => ({ x: 0, y: bottom(grid), w: 2, h: 2 }),
  create(body, config, context) {
    const lamp = el("span", "lamp");
    const label = el("span", "lamp-label", "–");
    body.append(lamp, label);
    async function drawMachine() {
      const machine = context.MACHINES[config.machine];
      const alarms = await api(`/api/alarms/active?machine=${config.machine}`);
      const worst = alarms[0]?.severity; // most severe first
      lamp.className = `lamp status-${machine.status}` + (worst ? ` sev-${worst} lit` : machine.status === "active" ? " lit" : "");
      if (worst && alarms.some((a) => UNACKNOWLEDGED.has(a.state))) lamp.classList.add("blink");
      label.textContent = worst ? `${machine.status} · ${alarms.length} alarm${alarms.length > 1 ? "s" : ""}` : machine.status;
    }
    function drawSensor() {
      const r = reading(context, config.sensor);
      if (!r) return;
      const on = Math.round(r[1]) !== 0;
      lamp.className = "lamp" + (on ? " lit" : "");
      label.textContent = on ? "On" : "Off";
      body.classList.toggle("stale", isStale(context, config.sensor, r));
    }
    if (config.machine) {
      const safely = () => drawMachine().catch((error) => console.warn("status widget:", error));
      safely();
      return { alarms: safely };
    }
    drawSensor();
    return { readings: (changed) => String(config.sensor) in changed && drawSensor() };
  },
};

// --- Line chart: history of the last N minutes, then extended by live readings ----------------------
const linechart = {
  defaultTitle: (config, context) => config.sensors.map((id) => context.SENSORS[id]?.label).join(", "),
  sensors: (config) => config.sensors,
  size: (grid) => ({ x: 0, y: bottom(grid), w: 6, h: 4 }),
  create(body, config, context) {
    const span = config.minutes * 60;
    const data = [[], ...config.sensors.map(() => [])];
    let chart = null;
    function size() {
      return { width: Math.max(120, body.clientWidth), height: Math.max(80, body.clientHeight - 30) };
    }
    function build() {
      chart?.destroy();
      const units = [...new Set(config.sensors.map((id) => context.SENSORS[id].unit))];
      chart = new uPlot({
        ...size(),
        series: [{}, ...config.sensors.map((id, i) => ({
          label: context.SENSORS[id].label, scale: context.SENSORS[id].unit, stroke: PALETTE[i % PALETTE.length], width: 1.5,
          points: { show: false }, spanGaps: true,
        }))],
        axes: [
          { stroke: "#8a9096", grid: { stroke: "#3a3f45" }, ticks: { stroke: "#3a3f45" } },
          ...units.slice(0, 2).map((unit, i) => ({ scale: unit, side: i ? 1 : 3, stroke: "#8a9096", grid: { show: !i, stroke: "#3a3f45" }, ticks: { stroke: "#3a3f45" } })),
        ],
        scales: { x: { time: true, range: () => [Date.now() / 1000 - span, Date.now() / 1000] } },
        legend: { show: config.sensors.length > 1 },
        cursor: { drag: { x: false, y: false } },
      }, data, body);
    }
    async function load() {
      const end = new Date();
      const start = new Date(end.getTime() - span * 1000);
      const query = new URLSearchParams({ sensors: config.sensors.join(","), start: start.toISOString(), end: end.toISOString(), points: Math.round(size().width) });
      const history = await api(`/api/history?${query}`);
      const figure = history.bucket_seconds === null ? history.value : history.avg;
      data[0] = history.time.map((t) => Date.parse(t) / 1000);
      config.sensors.forEach((id, i) => (data[i + 1] = figure[id].slice()));
      chart.setData(data);
    }
    function add(changed) {
      const rows = config.sensors.map((id) => changed[String(id)]);
      if (!rows.some(Boolean)) return;
      const t = Math.max(...rows.filter(Boolean).map((r) => r[0]));
      if (data[0].length && t <= data[0].at(-1)) return;
      data[0].push(t);
      rows.forEach((r, i) => data[i + 1].push(r ? r[1] : null));
      const cutoff = Date.now() / 1000 - span;
      while (data[0].length && data[0][0] < cutoff) data.forEach((column) => column.shift());
      chart.setData(data);
    }
    build();
    load().catch((error) => body.append(el("p", "error", `History unavailable: ${error.message}`)));
    const timer = setInterval(() => chart.redraw(), 5000);
    return { readings: add, resize: () => chart.setSize(size()), destroy: () => { clearInterval(timer); chart.destroy(); } };
  },
};

// --- Alarms: the open alarms of some machines (or the whole plant) ---------------------------------
const alarms = {
  defaultTitle: (config, context) =>
    config.machines.length ? `Alarms · ${config.machines.map((id) => context.MACHINES[id]?.code).join(", ")}` : "Alarms · whole plant",
  sensors: () => [],
  size: (grid) => ({ x: 0, y: bottom(grid), w: 6, h: 3 }),
  create(body, config) {
    const list = el("ul", "alarm-list");
    body.append(list);
    async function draw() {
      const query = new URLSearchParams();
      config.machines.forEach((id) => query.append("machine", id));
      const rows = await api(`/api/alarms/active?${query}`);
      list.replaceChildren();
      for (const alarm of rows) {
        const item = el("li", `sev-${alarm.severity}`);
        item.append(severityDot(alarm), el("span", "", `${alarm.machine_code}/${alarm.sensor_code}: ${alarm.message}`));
        item.title = `${STATES[alarm.state] || alarm.state}, since ${new Date(alarm.triggered_at).toLocaleString()}`;
        list.append(item);
      }
      if (!rows.length) list.append(el("li", "muted", "No open alarms."));
    }
    const safely = () => draw().catch((error) => console.warn("alarms widget:", error));
    safely();
    return { alarms: safely };
  },
};

export const widgetTypes = { kpi, gauge, status, linechart, alarms };
