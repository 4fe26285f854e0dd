// On every page: the unacknowledged-alarm badge, the live/polling indicator, and critical
// unacknowledged alarms announced (a banner, and a tone every 2 s if the user turned sound on)
// until someone acknowledges them.
import { want, onAlarms, onMode, api } from "./live.js";

const badge = document.getElementById("alarm-badge");
const banner = document.getElementById("critical-banner");
const bannerText = document.getElementById("critical-text");
const modeLabel = document.getElementById("live-mode");
const soundButton = document.getElementById("sound-toggle");
const SEVERITIES = ["critical", "high", "medium", "low"];

let refreshTimer = null;
let criticalCount = 0;
let audio = null;

onMode((mode) => {
  modeLabel.textContent = mode === "live" ? "Live" : mode === "polling" ? "Live updates interrupted: refreshing every 5 s" : "Connecting…";
  modeLabel.dataset.mode = mode;
});

onAlarms(() => {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 200); // a burst of events: one refresh
});
want({ alarms: true });
refresh();

async function refresh() {
  try {
    const [summary, critical] = await Promise.all([
      api("/api/alarms/summary"),
      api("/api/alarms/active?severity=critical&state=unack"),
    ]);
    const count = summary.unacknowledged;
    badge.hidden = count === 0;
    badge.textContent = String(count);
    const worst = SEVERITIES.find((s) => summary.unacknowledged_by_severity[s] > 0);
    badge.className = worst ? `badge sev-${worst}` : "badge";
    badge.title = SEVERITIES.map((s) => `${summary.unacknowledged_by_severity[s]} ${s}`).join(", ");
    criticalCount = critical.length;
    banner.hidden = criticalCount === 0;
    if (criticalCount) {
      const first = critical[0];
      bannerText.textContent = `${first.machine_code}/${first.sensor_code}: ${first.message}` +
        (criticalCount > 1 ? ` (and ${criticalCount - 1} more)` : "");
    }
  } catch (error) {
    console.warn("alarm badge:", error);
  }
}

// Sound: off until the user turns it on (browsers only allow audio after a click anyway).
function setSound(on) {
  soundButton.setAttribute("aria-pressed", String(on));
  soundButton.textContent = on ? "Sound on" : "Sound off";
  localStorage.setItem("scadapro.sound", on ? "on" : "off");
  if (on && !audio) audio = new AudioContext();
}
soundButton.addEventListener("click", () => setSound(soundButton.getAttribute("aria-pressed") !== "true"));
if (localStorage.getItem("scadapro.sound") === "on") {
  soundButton.setAttribute("aria-pressed", "true");
  soundButton.textContent = "Sound on";
}
setInterval(() => {
  if (!criticalCount || soundButton.getAttribute("aria-pressed") !== "true") return;
  audio = audio || new AudioContext();
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = 880;
  gain.gain.value = 0.15;
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.25);
}, 2000);
