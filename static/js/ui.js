// What every page shows the same way: alarm states and severities, qualities, machine statuses,
// ages, series colours, and table cells.

export const ALARM_STATES = {
  unack: "Unacknowledged", acked: "Acknowledged", rtn_unack: "Returned, unacknowledged", closed: "Closed",
};
export const UNACKNOWLEDGED = new Set(["unack", "rtn_unack"]);
// One colour per severity everywhere (as in scadapro.css); reserved for abnormal states.
export const SEVERITY_COLOURS = { critical: "#e53935", high: "#fb8c00", medium: "#fdd835", low: "#42a5f5" };
// Trend colours: muted and distinguishable, none of them a severity colour.
export const SERIES_COLOURS = ["#9ecae1", "#c7b58a", "#a1d99b", "#bcbddc", "#fdae6b", "#d9d9d9", "#80b1d3", "#fccde5"];
export const QUALITY_NAMES = ["good", "uncertain", "bad"]; // index: the stored quality
const STATUS_LABELS = { active: "Active", inactive: "Inactive", maintenance: "Maintenance" };

export function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// A dot in the alarm's severity colour, blinking while it is unacknowledged.
export function severityDot(alarm) {
  const dot = document.createElement("span");
  dot.className = "sev-dot" + (UNACKNOWLEDGED.has(alarm.state) ? " blink" : "");
  return dot;
}

// The severity cell of an alarm's table row (the row takes the severity's colour variable).
export function severityCell(row, alarm) {
  const td = cell(row, alarm.severity);
  td.prepend(severityDot(alarm));
  row.classList.add(`sev-${alarm.severity}`);
  return td;
}

// A machine's status label (class "status status-<status>") shows a pushed change.
export function showStatus(el, status) {
  el.textContent = STATUS_LABELS[status] || status;
  el.className = `status status-${status}`;
}

// A value is stale when no reading came for three of the sensor's expected intervals.
export function isStale(ts, interval) {
  return !ts || Date.now() / 1000 - ts > 3 * (interval || 10);
}

export function age(seconds) {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}
