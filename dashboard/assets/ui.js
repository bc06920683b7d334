// Small helpers for building the pages: elements (never HTML strings, so no user text is ever parsed as markup),
// formatting and screen-reader announcements.

/** Creates an element: `h("a", {href: "#/jobs"}, "Jobs")`. Attributes starting with `on` add listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An SVG element with attributes. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Says something to screen readers through the page's live region. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export function formatBytes(bytes) {
  if (bytes === undefined || bytes === null) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Seconds as `m:ss` (or `h:mm:ss`). */
export function formatDuration(seconds) {
  if (seconds === undefined || seconds === null || Number.isNaN(seconds)) return "–";
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

export function formatDate(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** How long a job took from upload to result. */
export function timeTaken(job) {
  if (!job.completedAt) return "–";
  return formatDuration((new Date(job.completedAt) - new Date(job.createdAt)) / 1000);
}

/** The states in which a transcription is still under way. */
export const RUNNING = new Set(["QUEUED", "PROCESSING"]);

export const statusLabels = {
  QUEUED: "Queued",
  PROCESSING: "Processing",
  COMPLETED: "Completed",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
  EXPIRED: "Expired",
};

/** A status as a badge. */
export function statusBadge(status) {
  return h("span", { class: `badge badge-${status.toLowerCase()}`, "data-status": status }, statusLabels[status] || status);
}

/** A labelled progress bar (a real <progress>, so assistive technology reads its value). */
export function progressBar(label, value, max = 100) {
  return h("progress", { max, value: Math.max(0, Math.min(max, value)), "aria-label": label });
}

/** A short message box. */
export function notice(text, kind = "info") {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : null }, text);
}

/** The name a transcription is shown by. */
export function jobName(job) {
  return job.originalFilename || `Transcription ${job.id.slice(0, 8)}`;
}

/** The result file name for a transcription in a format (`talk.srt`). */
export function resultFileName(job, format) {
  const base = (job.originalFilename || job.id).replace(/\.[^.]+$/, "");
  const extension = { text: "txt", json: "json", verbose_json: "verbose.json", diarized_json: "diarized.json", srt: "srt", vtt: "vtt" }[format];
  return `${base}.${extension}`;
}
