// A board: widgets on a 12-column gridstack grid, live over /ws/realtime. Its owner edits it
// (add, configure, move, resize, remove); every change is saved to /api/boards/<id>, which checks
// the widgets (apps/boards/widgets.py).
import { want, onReadings, onAlarms, onMachines, api, values } from "./live.js";
import { widgetTypes } from "./widgets.js";

const $ = (id) => document.getElementById(id);
const board = JSON.parse($("board-data").textContent);
const SENSORS = JSON.parse($("sensor-meta").textContent);
const MACHINES = JSON.parse($("machine-meta").textContent);
const editable = $("board").dataset.editable === "true";
const context = { SENSORS, MACHINES, values, limits: {} };

let configs = new Map(board.widgets.map((w) => [w.id, w])); // widget id -> saved config
const live = new Map(); // widget id -> instance {readings(), alarms(), resize(), destroy()}
let editing = false;

const grid = GridStack.init({ column: 12, cellHeight: 64, margin: 6, staticGrid: true, float: true, animate: false }, "#board");

function mount(config) {
  const element = grid.addWidget({ id: config.id, x: config.x, y: config.y, w: config.w, h: config.h });
  element.dataset.type = config.type;
  const content = element.querySelector(".grid-stack-item-content");
  content.classList.add("panel", "widget", `widget-${config.type}`);
  const head = document.createElement("header");
  head.className = "widget-head";
  const title = document.createElement("span");
  title.className = "widget-title";
  title.textContent = config.title || widgetTypes[config.type].defaultTitle(config, context);
  head.append(title);
  if (editable) {
    const tools = document.createElement("span");
    tools.className = "widget-tools";
    tools.append(tool("Configure", () => configure(config.id)), tool("Remove", () => remove(config.id)));
    head.append(tools);
  }
  const body = document.createElement("div");
  body.className = "widget-body";
  content.append(head, body);
  live.set(config.id, widgetTypes[config.type].create(body, config, context));
}

function tool(label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "quiet";
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

function unmount(id) {
  live.get(id)?.destroy?.();
  live.delete(id);
  const element = grid.getGridItems().find((el) => el.gridstackNode.id === id);
  if (element) grid.removeWidget(element);
}

function render() {
  grid.batchUpdate();
  for (const config of configs.values()) mount(config);
  grid.batchUpdate(false);
  $("empty-board").hidden = configs.size > 0;
  subscribe();
}

function subscribe() {
  const sensors = new Set();
  for (const config of configs.values()) widgetTypes[config.type].sensors(config).forEach((id) => sensors.add(id));
  const machines = [...configs.values()].filter((c) => c.type === "status" && c.machine).map((c) => c.machine);
  want({ sensors: [...sensors], machines, alarms: true }); // machines: their status changes
  loadLimits([...sensors]);
}

// Alarm limits of the sensors shown, so KPI and gauge values are coloured when beyond one.
async function loadLimits(ids) {
  const missing = ids.filter((id) => !(id in context.limits));
  if (!missing.length) return;
  const query = new URLSearchParams({ limit: 1000, enabled: "true" });
  missing.forEach((id) => query.append("sensor", id));
  missing.forEach((id) => (context.limits[id] = []));
  const page = await api(`/api/alarm-rules?${query}`).catch(() => ({ results: [] }));
  for (const rule of page.results) {
    if (["hihi", "hi", "lo", "lolo"].includes(rule.kind)) context.limits[rule.sensor].push(rule);
  }
  live.forEach((widget) => widget.refresh?.());
}

onReadings((readings) => live.forEach((widget) => widget.readings?.(readings)));
onAlarms(() => live.forEach((widget) => widget.alarms?.()));
onMachines((statuses) => {
  for (const [id, status] of Object.entries(statuses)) if (MACHINES[id]) MACHINES[id].status = status;
  live.forEach((widget) => widget.alarms?.()); // status lamps redraw
});
window.addEventListener("resize", () => live.forEach((widget) => widget.resize?.()));
grid.on("resizestop", (event, element) => live.get(element.gridstackNode.id)?.resize?.());

// --- editing ----------------------------------------------------------------------------------------
function layout() {
  const placed = new Map(grid.save(false).map((n) => [n.id, n]));
  return [...configs.values()].map((config) => {
    const node = placed.get(config.id) || config;
    return { ...config, x: node.x, y: node.y, w: node.w, h: node.h };
  });
}

let saveTimer = null;
function saveSoon() {
  clearTimeout(saveTimer);
  $("save-status").textContent = "Saving…";
  saveTimer = setTimeout(save, 300);
}

async function save() {
  try {
    const saved = await api(`/api/boards/${board.id}`, { method: "PATCH", body: { widgets: layout() } });
    configs = new Map(saved.widgets.map((w) => [w.id, w]));
    $("save-status").textContent = "Saved";
    return true;
  } catch (error) {
    $("save-status").textContent = `Not saved: ${error.message}`;
    return false;
  }
}

function remove(id) {
  unmount(id);
  configs.delete(id);
  $("empty-board").hidden = configs.size > 0;
  saveSoon();
}

if (editable) {
  $("edit-toggle").addEventListener("click", () => {
    editing = !editing;
    grid.setStatic(!editing);
    document.body.classList.toggle("editing", editing);
    $("edit-toggle").textContent = editing ? "Done" : "Edit";
    $("add-widget").hidden = !editing;
    history.replaceState(null, "", editing ? "?edit=1" : location.pathname);
  });
  grid.on("change", () => editing && saveSoon());
  $("add-widget").addEventListener("click", () => configure(null));
  fillChoices();
  if (new URLSearchParams(location.search).has("edit")) $("edit-toggle").click();
}

function fillChoices() {
  const form = $("widget-form");
  const sensorOptions = Object.entries(SENSORS).map(([id, s]) => new Option(`${s.label} · ${s.name}${s.unit ? ` (${s.unit})` : ""}`, id));
  form.sensor.append(...sensorOptions.map((o) => o.cloneNode(true)));
  form.sensors.append(...sensorOptions);
  const machineOptions = Object.entries(MACHINES).map(([id, m]) => new Option(`${m.code} · ${m.name}`, id));
  form.machine.append(...machineOptions.map((o) => o.cloneNode(true)));
  form.machines.append(...machineOptions);
  form.type.addEventListener("change", showFields);
  form.target.addEventListener("change", showFields);
}

function showFields() {
  const form = $("widget-form");
  const type = form.type.value;
  const keys = new Set([type, type === "status" ? `status-${form.target.value}` : ""]);
  form.querySelectorAll("label[data-for]").forEach((label) => {
    label.hidden = !label.dataset.for.split(" ").some((key) => keys.has(key));
  });
}

function configure(id) {
  const form = $("widget-form");
  const dialog = $("widget-dialog");
  const config = id ? configs.get(id) : { type: "kpi", title: "", minutes: 60, machines: [], sensors: [] };
  form.reset();
  $("widget-error").textContent = "";
  $("widget-dialog-title").textContent = id ? "Configure widget" : "Add widget";
  form.type.value = config.type;
  form.type.disabled = Boolean(id);
  form.title.value = config.title || "";
  if (config.sensor) form.sensor.value = String(config.sensor);
  form.target.value = config.machine ? "machine" : config.type === "status" && config.sensor ? "sensor" : "machine";
  if (config.machine) form.machine.value = String(config.machine);
  for (const option of form.sensors.options) option.selected = (config.sensors || []).includes(Number(option.value));
  for (const option of form.machines.options) option.selected = (config.machines || []).includes(Number(option.value));
  form.minutes.value = config.minutes || 60;
  form.min.value = config.min ?? "";
  form.max.value = config.max ?? "";
  showFields();
  dialog.showModal();
  dialog.addEventListener("close", async function done() {
    if (dialog.returnValue !== "confirm") return;
    const next = fromForm(form, config, id);
    const before = configs.get(next.id);
    configs.set(next.id, next);
    if (!(await save())) {
      before ? configs.set(next.id, before) : configs.delete(next.id);
      $("widget-error").textContent = $("save-status").textContent;
      dialog.showModal();
      dialog.addEventListener("close", done, { once: true });
      return;
    }
    if (id) unmount(id);
    mount(configs.get(next.id));
    $("empty-board").hidden = true;
    subscribe();
  }, { once: true });
}

function fromForm(form, previous, id) {
  const type = form.type.value;
  const picked = (select) => [...select.selectedOptions].map((o) => Number(o.value));
  const number = (input) => (input.value === "" ? null : Number(input.value));
  const config = {
    id: id || `w${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    type,
    title: form.title.value.trim(),
    ...(id ? { x: previous.x, y: previous.y, w: previous.w, h: previous.h } : widgetTypes[type].size(grid)),
  };
  if (type === "gauge" || type === "kpi") Object.assign(config, { sensor: Number(form.sensor.value), min: number(form.min), max: number(form.max) });
  if (type === "status") {
    if (form.target.value === "machine") config.machine = Number(form.machine.value);
    else config.sensor = Number(form.sensor.value);
  }
  if (type === "linechart") Object.assign(config, { sensors: picked(form.sensors), minutes: Number(form.minutes.value) });
  if (type === "alarms") config.machines = picked(form.machines);
  return config;
}

render();
