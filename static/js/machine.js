// A machine's page: live values with quality and age, a sparkline of the last hour per sensor
// (history API, then extended by live readings), and the machine's open alarms.
import { want, onReadings, onAlarms, onMachines, api } from "./live.js";
import { ALARM_STATES as STATES, QUALITY_NAMES, cell, severityCell, showStatus } from "./ui.js";
import { showReading, markStale } from "./values.js";

const machine = document.getElementById("machine").dataset.machine;
const rows = new Map();
document.querySelectorAll("#sensors tr[data-sensor]").forEach((row) => rows.set(row.dataset.sensor, row));
const series = new Map(); // sensor id -> [[epoch s, value], ...] of the last hour
const HOUR = 3600;

function drawSpark(id) {
  const canvas = rows.get(id)?.querySelector("canvas.spark");
  const points = series.get(id) || [];
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (points.length < 2) return;
  const now = Date.now() / 1000;
  const values = points.map((p) => p[1]);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  ctx.strokeStyle = "#9ea4aa";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  points.forEach(([t, v], i) => {
    const x = ((t - (now - HOUR)) / HOUR) * canvas.width;
    const y = canvas.height - 2 - ((v - low) / span) * (canvas.height - 4);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
}

async function loadSparklines() {
  const ids = [...rows.keys()];
  const end = new Date();
  const start = new Date(end.getTime() - HOUR * 1000);
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const query = new URLSearchParams({ sensors: chunk.join(","), start: start.toISOString(), end: end.toISOString(), points: 60 });
    const body = await api(`/api/history?${query}`);
    const times = body.time.map((t) => Date.parse(t) / 1000);
    const figure = body.bucket_seconds === null ? body.value : body.avg;
    for (const id of chunk) {
      const points = times.map((t, k) => [t, figure[id][k]]).filter((p) => p[1] !== null);
      series.set(id, [...points, ...(series.get(id) || []).filter((p) => p[0] > (points.at(-1)?.[0] ?? 0))]);
      drawSpark(id);
    }
  }
}

onReadings((readings) => {
  for (const [id, reading] of Object.entries(readings)) {
    const row = rows.get(id);
    if (!row) continue;
    showReading(row, reading);
    row.querySelector(".quality").textContent = QUALITY_NAMES[reading[2]] || "–";
    const points = series.get(id) || [];
    points.push([reading[0], reading[1]]);
    const cutoff = Date.now() / 1000 - HOUR;
    while (points.length && points[0][0] < cutoff) points.shift();
    series.set(id, points);
    drawSpark(id);
  }
});
setInterval(() => rows.forEach(markStale), 5000);
rows.forEach(markStale);

async function loadAlarms() {
  const alarms = await api(`/api/alarms/active?machine=${machine}&include_shelved=true`);
  const body = document.querySelector("#machine-alarms tbody");
  body.replaceChildren();
  for (const alarm of alarms) {
    const row = body.insertRow();
    severityCell(row, alarm);
    cell(row, new Date(alarm.triggered_at).toLocaleString());
    cell(row, alarm.sensor_code);
    cell(row, alarm.message);
    cell(row, STATES[alarm.state] + (alarm.shelved_until ? " · shelved" : ""));
  }
  if (!alarms.length) cell(body.insertRow(), "No open alarms.", "muted").colSpan = 5;
}
onMachines((statuses) => {
  if (statuses[machine]) showStatus(document.querySelector("#machine .status"), statuses[machine]);
});

let timer = null;
onAlarms(() => {
  clearTimeout(timer);
  timer = setTimeout(() => loadAlarms().catch((error) => console.warn("alarms:", error)), 200);
});

want({ machines: [machine], alarms: true });
loadSparklines().catch((error) => console.warn("sparklines:", error));
loadAlarms().catch((error) => console.warn("alarms:", error));
