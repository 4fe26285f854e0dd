// The plant overview: key values of every machine and its open alarms by severity, live.
import { want, onReadings, onAlarms, onMachines, api } from "./live.js";
import { showStatus } from "./ui.js";
import { showReading, markStale } from "./values.js";

const cells = new Map(); // sensor id -> element
document.querySelectorAll(".kv[data-sensor]").forEach((el) => cells.set(el.dataset.sensor, el));

onReadings((readings) => {
  for (const [id, reading] of Object.entries(readings)) {
    const el = cells.get(id);
    if (el) showReading(el, reading);
  }
});
setInterval(() => cells.forEach(markStale), 5000);
cells.forEach(markStale);

onMachines((statuses) => {
  for (const [id, status] of Object.entries(statuses)) {
    const card = document.querySelector(`.machine-card[data-machine="${id}"]`);
    if (!card) continue;
    showStatus(card.querySelector(".status"), status);
    card.className = `panel machine-card machine-${status}`;
  }
});

let timer = null;
onAlarms(() => {
  clearTimeout(timer);
  timer = setTimeout(() => refreshCounts().catch((error) => console.warn("alarm counts:", error)), 200);
});

async function refreshCounts() {
  const alarms = await api("/api/alarms/active?include_shelved=true");
  const counts = {};
  for (const alarm of alarms) {
    counts[alarm.machine] ??= {};
    counts[alarm.machine][alarm.severity] = (counts[alarm.machine][alarm.severity] || 0) + 1;
  }
  document.querySelectorAll(".machine-card").forEach((card) => {
    card.querySelectorAll(".count").forEach((el) => {
      const n = counts[card.dataset.machine]?.[el.dataset.severity] || 0;
      el.lastChild.textContent = String(n);
      el.classList.toggle("zero", n === 0);
    });
  });
}

want({ all: true, alarms: true });
