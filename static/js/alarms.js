// The alarm centre: active alarms (most severe, then newest first) with acknowledge, shelve,
// unshelve and reset for operators, bulk acknowledge, and the alarm history with filters. The
// server refuses what a role may not do; the buttons only appear for those who may.
import { want, onAlarms, api } from "./live.js";
import { ALARM_STATES as STATES, UNACKNOWLEDGED as UNACKED, cell, severityCell } from "./ui.js";

const $ = (id) => document.getElementById(id);
const canAct = $("active-section").dataset.canAct === "true";
const PAGE = 50;
let historyOffset = 0;
let reloadTimer = null;

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function loadActive() {
  const alarms = await api("/api/alarms/active?include_shelved=true");
  const body = $("active").tBodies[0];
  body.replaceChildren();
  $("active-count").textContent = `(${alarms.length})`;
  for (const alarm of alarms) {
    const row = body.insertRow();
    row.dataset.id = alarm.id;
    if (canAct) {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "pick";
      box.value = alarm.id;
      box.disabled = !UNACKED.has(alarm.state);
      box.setAttribute("aria-label", `Select alarm ${alarm.id}`);
      box.addEventListener("change", updateBulk);
      row.insertCell().append(box);
    }
    severityCell(row, alarm);
    cell(row, new Date(alarm.triggered_at).toLocaleString());
    const where = cell(row, "");
    const link = document.createElement("a");
    link.href = `/machines/${encodeURIComponent(alarm.machine_code)}/`;
    link.textContent = `${alarm.machine_code}/${alarm.sensor_code}`;
    where.append(link);
    cell(row, alarm.message);
    cell(row, alarm.value === null ? "–" : `${alarm.value} ${alarm.unit}`.trim(), "num");
    let state = STATES[alarm.state];
    if (alarm.shelved_until) state += ` · shelved until ${new Date(alarm.shelved_until).toLocaleTimeString()}`;
    if (alarm.out_of_service) state += " · out of service";
    if (alarm.latched && !alarm.condition) state += " · latched, needs reset";
    cell(row, state, "state");
    if (canAct) {
      const actions = row.insertCell();
      actions.className = "actions";
      if (UNACKED.has(alarm.state)) actions.append(button("Acknowledge", () => act(alarm, "acknowledge")));
      if (alarm.shelved_until) actions.append(button("Unshelve", () => act(alarm, "unshelve")));
      else if (!alarm.out_of_service) actions.append(button("Shelve", () => act(alarm, "shelve")));
      if (alarm.latched && !alarm.condition) actions.append(button("Reset", () => act(alarm, "reset")));
    }
  }
  if (!alarms.length) cell(body.insertRow(), "No active alarms.", "muted").colSpan = 8;
  updateBulk();
}

function updateBulk() {
  const bulk = $("bulk-ack");
  if (bulk) bulk.disabled = !document.querySelector("#active .pick:checked");
}

// A dialog asks for the note (acknowledge, reset, unshelve) or minutes and reason (shelve).
function ask(title, { minutes = false, noteLabel = "Note (optional)", required = false } = {}) {
  const dialog = $("action-dialog");
  const form = $("action-form");
  form.reset();
  $("action-title").textContent = title;
  $("minutes-field").hidden = !minutes;
  $("note-label").textContent = noteLabel;
  form.note.required = required;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm" ? { note: form.note.value, minutes: Number(form.minutes.value) } : null);
    }, { once: true });
  });
}

async function act(alarm, action) {
  const label = `${alarm.machine_code}/${alarm.sensor_code}: ${alarm.message}`;
  const answer = action === "shelve"
    ? await ask(`Shelve ${label}`, { minutes: true, noteLabel: "Reason", required: true })
    : await ask(`${action[0].toUpperCase()}${action.slice(1)} ${label}`);
  if (!answer) return;
  const body = action === "shelve" ? { minutes: answer.minutes, reason: answer.note } : { note: answer.note };
  try {
    await api(`/api/alarms/${alarm.id}/${action}`, { method: "POST", body });
    $("action-status").textContent = `${action[0].toUpperCase()}${action.slice(1)}: done.`;
  } catch (error) {
    $("action-status").textContent = `Refused: ${error.message}`;
  }
  await loadActive();
}

if (canAct) {
  $("select-all").addEventListener("change", (event) => {
    document.querySelectorAll("#active .pick:not(:disabled)").forEach((box) => (box.checked = event.target.checked));
    updateBulk();
  });
  $("bulk-ack").addEventListener("click", async () => {
    const ids = [...document.querySelectorAll("#active .pick:checked")].map((box) => Number(box.value));
    const answer = await ask(`Acknowledge ${ids.length} alarm${ids.length > 1 ? "s" : ""}`);
    if (!answer) return;
    try {
      const result = await api("/api/alarms/acknowledge", { method: "POST", body: { ids, note: answer.note } });
      const refused = Object.keys(result.refused).length;
      $("action-status").textContent = `Acknowledged ${result.acknowledged.length}` + (refused ? `, ${refused} refused.` : ".");
    } catch (error) {
      $("action-status").textContent = `Refused: ${error.message}`;
    }
    await loadActive();
  });
}

async function loadHistory() {
  const query = new URLSearchParams({ ordering: "-triggered_at", limit: PAGE, offset: historyOffset });
  for (const [key, value] of new FormData($("history-filters"))) {
    if (value === "") continue;
    query.set(key, key.startsWith("triggered") ? new Date(value).toISOString() : value);
  }
  const page = await api(`/api/alarms?${query}`);
  const body = $("history").tBodies[0];
  body.replaceChildren();
  for (const alarm of page.results) {
    const row = body.insertRow();
    severityCell(row, alarm);
    cell(row, new Date(alarm.triggered_at).toLocaleString());
    cell(row, `${alarm.machine_code}/${alarm.sensor_code}`);
    cell(row, alarm.message);
    cell(row, STATES[alarm.state]);
    cell(row, alarm.acknowledged_by || "–");
    cell(row, alarm.closed_at ? new Date(alarm.closed_at).toLocaleString() : "–");
  }
  if (!page.results.length) cell(body.insertRow(), "No alarms match.", "muted").colSpan = 7;
  $("history-page").textContent = page.count ? `${historyOffset + 1}–${historyOffset + page.results.length} of ${page.count}` : "";
  $("history-prev").disabled = historyOffset === 0;
  $("history-next").disabled = historyOffset + PAGE >= page.count;
}

$("history-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  historyOffset = 0;
  loadHistory().catch((error) => ($("history-page").textContent = error.message));
});
const showHistoryError = (error) => ($("history-page").textContent = error.message);
$("history-prev").addEventListener("click", () => { historyOffset = Math.max(0, historyOffset - PAGE); loadHistory().catch(showHistoryError); });
$("history-next").addEventListener("click", () => { historyOffset += PAGE; loadHistory().catch(showHistoryError); });

onAlarms(() => {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    loadActive().catch((error) => ($("action-status").textContent = `Could not load the alarms: ${error.message}`));
    if (historyOffset === 0) loadHistory().catch((error) => ($("history-page").textContent = error.message));
  }, 200);
});
want({ alarms: true });
loadActive().catch((error) => ($("action-status").textContent = `Could not load the alarms: ${error.message}`));
loadHistory().catch(showHistoryError);
