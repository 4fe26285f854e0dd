// One live connection per page: /ws/realtime, shared by the navigation (alarm badge, critical
// banner) and the page (values, charts). Pages say what they want; this module merges it into one
// subscription, acknowledges every update (the server's flow control, apps/live/outbox.py) and,
// while the socket is down, polls the REST API every 5 seconds and says so.

import { QUALITY_NAMES } from "./ui.js";

const POLL_MS = 5000;
const wants = { machines: new Set(), all: false, sensors: new Set(), alarms: false };
const readingListeners = new Set();
const alarmListeners = new Set();
const machineListeners = new Set();
const modeListeners = new Set();
export const values = new Map(); // sensor id (string) -> [epoch s, value, quality]

let socket = null;
let mode = "connecting"; // "live" | "polling" | "connecting"
let retry = 0;
let pollTimer = null;
let subscribeTimer = null;

export function want({ machines = [], all = false, sensors = [], alarms = false } = {}) {
  machines.forEach((id) => wants.machines.add(Number(id)));
  sensors.forEach((id) => wants.sensors.add(Number(id)));
  wants.all = wants.all || all;
  wants.alarms = wants.alarms || alarms;
  clearTimeout(subscribeTimer);
  subscribeTimer = setTimeout(subscribe, 0); // several calls while a page sets up: one message
  if (!socket) connect();
}

export const onReadings = (fn) => readingListeners.add(fn); // fn({id: [ts, value, quality]})
export const onAlarms = (fn) => alarmListeners.add(fn); // fn(events, resync): re-read alarms from the API
export const onMachines = (fn) => machineListeners.add(fn); // fn({machine id: status}) when a status changes
export function onMode(fn) {
  modeListeners.add(fn);
  fn(mode);
}

function setMode(next) {
  if (next === mode) return;
  mode = next;
  modeListeners.forEach((fn) => fn(mode));
}

function subscribe() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({
    action: "subscribe",
    machines: wants.all ? "*" : [...wants.machines],
    sensors: [...wants.sensors],
    alarms: wants.alarms,
  }));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${scheme}//${location.host}/ws/realtime`);
  socket.onopen = () => {
    retry = 0;
    stopPolling();
    setMode("live");
    subscribe();
    alarmListeners.forEach((fn) => fn([], true)); // whatever happened while away
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "update") {
      deliver(message.readings);
      if (message.machines) machineListeners.forEach((fn) => fn(message.machines));
      if (message.alarms.length || message.resync) alarmListeners.forEach((fn) => fn(message.alarms, !!message.resync));
      socket.send(JSON.stringify({ action: "ack", seq: message.seq }));
    } else if (message.type === "error") {
      console.warn("live:", message.reason);
    }
  };
  socket.onclose = (event) => {
    socket = null;
    if (event.code === 4401) {
      location.reload(); // the session ended: the login page takes over
      return;
    }
    startPolling();
    const delay = Math.min(30000, 1000 * 2 ** retry++);
    setTimeout(connect, delay);
  };
}

function deliver(readings) {
  const changed = {};
  for (const [id, reading] of Object.entries(readings)) {
    const held = values.get(id);
    if (!held || reading[0] >= held[0]) {
      values.set(id, reading);
      changed[id] = reading;
    }
  }
  if (Object.keys(changed).length) readingListeners.forEach((fn) => fn(changed));
}

// --- fallback: the REST API every 5 seconds ---------------------------------------------------
function startPolling() {
  setMode("polling");
  if (!pollTimer) {
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

async function poll() {
  try {
    const queries = wants.all ? [""] : [...wants.machines].map((id) => `machine=${id}`);
    if (wants.sensors.size) queries.push(`id=${[...wants.sensors].join(",")}`);
    for (const query of queries) {
      let url = `/api/sensors?limit=1000&${query}`;
      while (url) {
        const page = await api(url);
        const readings = {};
        for (const s of page.results) {
          if (s.last_seen !== null && s.last_value !== null) {
            readings[s.id] = [Date.parse(s.last_seen) / 1000, s.last_value, Math.max(0, QUALITY_NAMES.indexOf(s.last_quality))];
          }
        }
        deliver(readings);
        url = page.next;
      }
    }
    if (wants.alarms) alarmListeners.forEach((fn) => fn([], true));
  } catch (error) {
    console.warn("live: polling failed", error);
  }
}

// --- the REST API, as the pages call it ----------------------------------------------------------
function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(url, { method = "GET", body } = {}) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const reason = data.detail || Object.entries(data).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ");
    throw new Error(reason || `HTTP ${response.status}`);
  }
  return data;
}
