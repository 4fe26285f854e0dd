// How a live value looks everywhere: its digits, its quality, and grey when stale (no reading for
// three expected intervals). Elements carry data-decimals, data-interval, data-seen, data-quality.
import { age, isStale, QUALITY_NAMES } from "./ui.js";

export function showReading(el, [ts, value, quality]) {
  const decimals = Number(el.dataset.decimals || 1);
  el.querySelector(".value").textContent = Number(value).toFixed(decimals);
  el.dataset.seen = String(ts);
  el.dataset.quality = String(quality);
  markStale(el);
}

export function markStale(el) {
  const seen = Number(el.dataset.seen || 0);
  const seconds = Date.now() / 1000 - seen;
  el.classList.toggle("stale", isStale(seen, Number(el.dataset.interval)));
  const quality = QUALITY_NAMES[Number(el.dataset.quality)] || "";
  el.classList.toggle("quality-bad", quality === "bad");
  el.classList.toggle("quality-uncertain", quality === "uncertain");
  el.title = seen ? `${quality || "no quality"}, ${age(seconds)}` : "no reading yet";
  const since = el.querySelector(".since");
  if (since) since.textContent = seen ? age(seconds) : "never";
}
