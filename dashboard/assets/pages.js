// The pages of a signed-in user: upload, jobs, one job, usage and settings.
import { request, requestText, upload, describeFailure } from "./api.js";
import {
  h, svg, replace, announce, notice, progressBar, statusBadge, formatBytes, formatDuration, formatDate, timeTaken,
  jobName, resultFileName, statusLabels,
} from "./ui.js";
import { store, subscribe } from "./store.js";

const RUNNING = new Set(["QUEUED", "PROCESSING"]);

// MARK: - Upload

/** This browser tab's uploads, kept while moving between pages. */
const uploads = [];
let uploadOptions = { model: "", language: "", task: "transcribe", word_timestamps: false };

/** Starts uploading files with the current options; each becomes an entry of `uploads`. */
export function startUploads(files) {
  for (const file of files) {
    const entry = { id: `u${uploads.length}`, file, sent: 0, total: file.size, job: null, error: null, views: new Set() };
    uploads.unshift(entry);
    const fields = { ...uploadOptions, word_timestamps: uploadOptions.word_timestamps ? "true" : "" };
    upload(file, fields, (sent, total) => {
      entry.sent = sent;
      entry.total = total;
      refresh(entry);
    })
      .then((submitted) => {
        entry.job = { id: submitted.transcriptionId, status: submitted.status, progress: 0 };
        announce(`${file.name} uploaded; transcription queued`);
        refresh(entry);
      })
      .catch((error) => {
        entry.error = error.message;
        announce(`${file.name} was not uploaded: ${error.message}`);
        refresh(entry);
      });
  }
}

function refresh(entry) {
  for (const view of entry.views) view();
}

// Uploaded files follow their transcription through the user's event stream.
subscribe((job) => {
  for (const entry of uploads) {
    if (entry.job && entry.job.id === job.id) {
      const wasRunning = RUNNING.has(entry.job.status);
      const quarter = Math.floor((entry.job.progress || 0) / 25);
      entry.job = job;
      if (wasRunning && !RUNNING.has(job.status)) announce(`${entry.file.name}: ${statusLabels[job.status] || job.status}`);
      else if (job.status === "PROCESSING" && Math.floor(job.progress / 25) > quarter) announce(`${entry.file.name}: ${job.progress}% transcribed`);
      refresh(entry);
    }
  }
});

function uploadItem(entry) {
  const uploadBar = progressBar(`Upload of ${entry.file.name}`, 0);
  uploadBar.classList.add("upload-bar");
  const jobBar = progressBar(`Transcription of ${entry.file.name}`, 0);
  jobBar.classList.add("job-bar");
  const state = h("span", { class: "upload-state" });
  const bytes = h("span", { class: "upload-bytes muted" });
  const link = h("span", { class: "upload-link" });
  const item = h(
    "li",
    { class: "upload-item", "data-file": entry.file.name },
    h("div", { class: "upload-title" }, h("strong", {}, entry.file.name), " ", h("span", { class: "muted" }, formatBytes(entry.file.size)), " ", state),
    h(
      "div", { class: "bars" },
      h("span", { class: "bar-label" }, "Upload"), h("span", { class: "bar-with-text" }, uploadBar, bytes),
      h("span", { class: "bar-label" }, "Transcription"), jobBar,
    ),
    link,
  );
  const view = () => {
    uploadBar.value = entry.total > 0 ? Math.round((entry.sent / entry.total) * 100) : 100;
    bytes.textContent = `${formatBytes(entry.job ? entry.file.size : entry.sent)} of ${formatBytes(entry.file.size)}`;
    if (entry.error) {
      replace(state, h("span", { class: "error-text", role: "alert" }, entry.error));
      return;
    }
    if (!entry.job) {
      replace(state, "Uploading…");
      return;
    }
    uploadBar.value = 100;
    jobBar.value = entry.job.status === "COMPLETED" ? 100 : entry.job.progress || 0;
    replace(state, statusBadge(entry.job.status));
    item.dataset.status = entry.job.status;
    if (entry.job.status === "FAILED") state.append(" ", h("span", { class: "error-text" }, describeFailure(entry.job.errorMessage)));
    if (!link.firstChild) link.append(h("a", { href: `#/jobs/${entry.job.id}` }, `Open ${entry.file.name}`));
  };
  entry.views.add(view);
  view();
  return { item, stop: () => entry.views.delete(view) };
}

function dropZone(text, onFiles) {
  const zone = h("div", { class: "dropzone", tabindex: "0", role: "button", "aria-label": `${text} (press Enter to choose files)` }, text);
  const picker = h("input", { type: "file", multiple: true, hidden: true, tabindex: "-1", "aria-hidden": "true" });
  picker.addEventListener("change", () => {
    onFiles([...picker.files]);
    picker.value = "";
  });
  zone.addEventListener("click", () => picker.click());
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      picker.click();
    }
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    onFiles([...event.dataTransfer.files]);
  });
  return h("div", {}, zone, picker);
}

export function renderUpload(main) {
  document.title = "Upload · WhisperAPI";
  const models = store.session.limits.models;
  if (!uploadOptions.model || !models.includes(uploadOptions.model)) uploadOptions.model = models[0];
  const list = h("ul", { id: "upload-list", class: "upload-list" });
  const stops = [];
  const show = () => {
    for (const stop of stops.splice(0)) stop();
    replace(list);
    if (uploads.length === 0) list.append(h("li", { class: "muted empty" }, "Nothing uploaded yet in this tab."));
    for (const entry of uploads) {
      const { item, stop } = uploadItem(entry);
      stops.push(stop);
      list.append(item);
    }
  };
  const begin = (files) => {
    if (files.length === 0) return;
    startUploads(files);
    show();
  };
  const fileInput = h("input", { id: "file-input", type: "file", multiple: true, accept: "audio/*,video/mp4,video/webm,.m4a,.mp3,.wav,.ogg,.opus,.flac,.webm,.aac" });
  fileInput.addEventListener("change", () => {
    begin([...fileInput.files]);
    fileInput.value = "";
  });
  const option = (value, label, selected) => h("option", { value, selected: selected || null }, label);
  const model = h("select", { id: "model", name: "model" }, models.map((name) => option(name, name, name === uploadOptions.model)));
  const language = h("input", { id: "language", name: "language", type: "text", placeholder: "detect", value: uploadOptions.language, maxlength: "8", autocomplete: "off" });
  const task = h(
    "select", { id: "task", name: "task" },
    option("transcribe", "Transcribe", uploadOptions.task === "transcribe"),
    option("translate", "Translate to English", uploadOptions.task === "translate"),
  );
  const words = h("input", { id: "word-timestamps", name: "word_timestamps", type: "checkbox", checked: uploadOptions.word_timestamps || null });
  const remember = () => {
    uploadOptions = { model: model.value, language: language.value.trim(), task: task.value, word_timestamps: words.checked };
  };
  for (const control of [model, language, task, words]) control.addEventListener("change", remember);
  replace(
    main,
    h("h1", {}, "Upload audio"),
    h(
      "form",
      { class: "card", onSubmit: (event) => event.preventDefault() },
      dropZone("Drop audio files here, or click to choose", begin),
      h("div", { class: "field" }, h("label", { for: "file-input" }, "Choose audio files"), fileInput),
      h(
        "fieldset", { class: "options" },
        h("legend", {}, "Options"),
        h("div", { class: "field" }, h("label", { for: "model" }, "Model"), model),
        h("div", { class: "field" }, h("label", { for: "language" }, "Language (code, e.g. en; empty to detect)"), language),
        h("div", { class: "field" }, h("label", { for: "task" }, "Task"), task),
        h("div", { class: "field check" }, words, h("label", { for: "word-timestamps" }, "Word timestamps")),
      ),
      h("p", { class: "muted" }, `Up to ${formatBytes(store.session.limits.maxUploadBytes)} a file on the ${store.session.user.plan} plan.`),
    ),
    h("section", { "aria-labelledby": "uploads-title" }, h("h2", { id: "uploads-title" }, "Uploads"), list),
  );
  show();
  return () => {
    for (const stop of stops) stop();
  };
}

// MARK: - Jobs

async function cancelJob(job) {
  await request("DELETE", `/api/v1/transcribe/${job.id}`);
  announce(`${jobName(job)} cancelled`);
}

async function retryJob(job) {
  await request("POST", `/api/v1/transcriptions/${job.id}/retry`);
  announce(`${jobName(job)} queued again`);
}

/** Cancel and retry buttons for a job, as its status allows. */
function jobActions(job, onError) {
  const run = (action) => async () => {
    try {
      await action(job);
    } catch (error) {
      onError(error.message);
    }
  };
  if (RUNNING.has(job.status)) return h("button", { type: "button", class: "secondary cancel", "aria-label": `Cancel ${jobName(job)}`, onClick: run(cancelJob) }, "Cancel");
  if (job.status === "FAILED") return h("button", { type: "button", class: "secondary retry", "aria-label": `Retry ${jobName(job)}`, onClick: run(retryJob) }, "Retry");
  return null;
}

export async function renderJobs(main) {
  document.title = "Jobs · WhisperAPI";
  const filter = h(
    "select", { id: "status-filter" },
    h("option", { value: "" }, "All"),
    Object.entries(statusLabels).map(([value, label]) => h("option", { value }, label)),
  );
  const message = h("div", { class: "messages" });
  const body = h("tbody");
  const table = h(
    "table", { id: "jobs-table", class: "jobs" },
    h("caption", { class: "visually-hidden" }, "Your transcriptions, newest first"),
    h("thead", {}, h("tr", {}, ["File", "Status", "Progress", "Duration", "Model", "Created", "Time taken"].map((name) => h("th", { scope: "col" }, name)), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    body,
  );
  const more = h("button", { type: "button", id: "load-more", class: "secondary", hidden: true }, "Load more");
  const empty = h("div", { id: "jobs-empty", hidden: true });
  const rows = new Map();
  let cursor = null;

  const showError = (text) => replace(message, notice(text, "error"));

  function row(job) {
    const tr = h("tr", { "data-id": job.id, "data-status": job.status });
    const update = (current) => {
      tr.dataset.status = current.status;
      const status = h("td", { "data-label": "Status" }, statusBadge(current.status));
      if (current.status === "FAILED") status.append(h("div", { class: "error-text" }, describeFailure(current.errorMessage)));
      replace(
        tr,
        h("td", { "data-label": "File" }, h("a", { href: `#/jobs/${current.id}` }, jobName(current))),
        status,
        h("td", { "data-label": "Progress" }, progressBar(`Progress of ${jobName(current)}`, current.status === "COMPLETED" ? 100 : current.progress)),
        h("td", { "data-label": "Duration" }, formatDuration(current.durationSeconds)),
        h("td", { "data-label": "Model" }, current.model),
        h("td", { "data-label": "Created" }, formatDate(current.createdAt)),
        h("td", { "data-label": "Time taken" }, timeTaken(current)),
        h("td", { class: "actions" }, jobActions(current, showError)),
      );
    };
    update(job);
    rows.set(job.id, update);
    return tr;
  }

  function showEmpty() {
    const none = rows.size === 0;
    table.hidden = none;
    empty.hidden = !none;
    if (none) {
      replace(
        empty,
        filter.value
          ? h("p", { class: "muted" }, `No ${statusLabels[filter.value].toLowerCase()} transcriptions.`)
          : dropZone("No transcriptions yet — drop a file here", (files) => {
              startUploads(files);
              location.hash = "#/upload";
            }),
      );
    }
  }

  async function load(reset) {
    if (reset) {
      rows.clear();
      replace(body);
      cursor = null;
    }
    const query = new URLSearchParams({ limit: "20" });
    if (cursor) query.set("cursor", cursor);
    if (filter.value) query.set("status", filter.value);
    try {
      const page = await request("GET", `/api/v1/transcriptions?${query}`);
      for (const job of page.items) if (!rows.has(job.id)) body.append(row(job));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      replace(message);
    } catch (error) {
      showError(error.message);
    }
    showEmpty();
  }

  filter.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));
  const stop = subscribe((job) => {
    const update = rows.get(job.id);
    const matches = !filter.value || filter.value === job.status;
    if (update) {
      if (matches) update(job);
      else {
        body.querySelector(`tr[data-id="${job.id}"]`)?.remove();
        rows.delete(job.id);
      }
    } else if (matches && RUNNING.has(job.status)) {
      body.prepend(row(job));
    }
    showEmpty();
  });
  replace(
    main,
    h("div", { class: "page-title" }, h("h1", {}, "Jobs"), h("a", { href: "#/upload", class: "button" }, "Upload audio")),
    h("div", { class: "toolbar" }, h("label", { for: "status-filter" }, "Show"), filter),
    message,
    table,
    empty,
    more,
  );
  await load(true);
  return stop;
}

// MARK: - One job

function segmentList(segments, player) {
  const items = segments.map((segment, index) =>
    h(
      "li", {},
      h(
        "button",
        {
          type: "button", class: "segment", "data-index": index, "data-start": segment.start, "data-end": segment.end,
          "aria-label": `Play from ${formatDuration(segment.start)}: ${segment.text.trim()}`,
          onClick: () => {
            player.currentTime = segment.start;
            player.play().catch(() => {});
          },
        },
        h("span", { class: "time" }, formatDuration(segment.start)),
        h("span", { class: "text" }, segment.text.trim()),
      ),
    ),
  );
  const list = h("ol", { id: "segments", class: "segments" }, items);
  let current = -1;
  player.addEventListener("timeupdate", () => {
    const time = player.currentTime;
    const index = segments.findIndex((segment) => time >= segment.start && time < segment.end);
    if (index === current) return;
    if (current >= 0) {
      const previous = items[current].firstChild;
      previous.classList.remove("current");
      previous.removeAttribute("aria-current");
    }
    current = index;
    if (index >= 0) {
      const button = items[index].firstChild;
      button.classList.add("current");
      button.setAttribute("aria-current", "true");
    }
  });
  return list;
}

function downloads(job) {
  const formats = [["text", "Text"], ["srt", "SRT"], ["vtt", "VTT"], ["json", "JSON"], ["verbose_json", "Verbose JSON"]];
  return h(
    "div", { class: "downloads", role: "group", "aria-label": "Download the transcript" },
    h("span", {}, "Download:"),
    formats.map(([format, label]) =>
      h("a", { class: "button secondary", href: `/api/v1/transcriptions/${job.id}/result?format=${format}`, download: resultFileName(job, format), "data-format": format }, label),
    ),
  );
}

async function webhookSection(job) {
  const section = h("section", { "aria-labelledby": "webhooks-title" }, h("h2", { id: "webhooks-title" }, "Webhook deliveries"));
  try {
    const { items } = await request("GET", `/api/v1/transcriptions/${job.id}/webhooks`);
    if (items.length === 0) {
      section.append(h("p", { class: "muted" }, "No webhook deliveries for this transcription."));
    } else {
      section.append(
        h(
          "table", { class: "compact" },
          h("thead", {}, h("tr", {}, ["Event", "Attempt", "Outcome", "When"].map((name) => h("th", { scope: "col" }, name)))),
          h(
            "tbody", {},
            items.map((attempt) =>
              h(
                "tr", {},
                h("td", {}, attempt.event),
                h("td", {}, String(attempt.attempt)),
                h("td", {}, attempt.succeeded ? `Delivered (${attempt.statusCode})` : `Failed${attempt.statusCode ? ` (${attempt.statusCode})` : ""}${attempt.error ? `: ${attempt.error}` : ""}${attempt.willRetry ? "; will retry" : ""}`),
                h("td", {}, formatDate(attempt.createdAt)),
              ),
            ),
          ),
        ),
      );
    }
  } catch (error) {
    section.append(notice(error.message, "error"));
  }
  return section;
}

export async function renderJob(main, id) {
  let job = await request("GET", `/api/v1/transcriptions/${id}`).catch((error) => {
    if (error.status === 404) return null;
    throw error;
  });
  if (!job) {
    replace(main, h("h1", {}, "Transcription not found"), h("p", {}, h("a", { href: "#/jobs" }, "Back to your jobs")));
    return null;
  }
  document.title = `${jobName(job)} · WhisperAPI`;
  const facts = h("dl", { class: "facts" });
  const progressArea = h("div", { class: "job-progress" });
  const actions = h("div", { class: "actions" });
  const message = h("div", { class: "messages" });
  const player = h("audio", { id: "player", controls: true, preload: "metadata", src: `/api/v1/transcriptions/${id}/audio` });
  const transcript = h("section", { "aria-labelledby": "transcript-title" }, h("h2", { id: "transcript-title" }, "Transcript"));
  let loadedTranscript = false;

  async function loadTranscript() {
    if (loadedTranscript) return;
    loadedTranscript = true;
    try {
      const result = JSON.parse(await requestText(`/api/v1/transcriptions/${id}/result?format=verbose_json`));
      const copy = h("button", { type: "button", class: "secondary", id: "copy-text" }, "Copy text");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(result.text.trim());
          announce("Transcript copied");
          copy.textContent = "Copied";
        } catch {
          replace(message, notice("The browser did not allow copying; select the text instead.", "error"));
        }
      });
      const segments = result.segments || [];
      transcript.append(
        h("div", { class: "toolbar" }, downloads(job), copy),
        segments.length ? segmentList(segments, player) : h("p", { class: "muted" }, "No speech was found in this audio."),
      );
    } catch (error) {
      loadedTranscript = false;
      transcript.append(notice(error.message, "error"));
    }
  }

  function show() {
    const fact = (term, value) => [h("dt", {}, term), h("dd", {}, value)];
    replace(
      facts,
      fact("Status", statusBadge(job.status)),
      fact("Model", job.model),
      fact("Language", job.language || "–"),
      fact("Audio", formatDuration(job.durationSeconds)),
      fact("Size", formatBytes(job.fileSize)),
      fact("Created", formatDate(job.createdAt)),
      fact("Time taken", timeTaken(job)),
    );
    replace(progressArea, RUNNING.has(job.status) ? [h("span", {}, `${job.status === "QUEUED" ? "Waiting in the queue" : "Transcribing"}: ${job.progress}%`), progressBar(`Progress of ${jobName(job)}`, job.progress)] : []);
    replace(actions, jobActions(job, (text) => replace(message, notice(text, "error"))));
    if (job.status === "FAILED") replace(message, notice(describeFailure(job.errorMessage), "error"));
    else if (job.status === "CANCELLED") replace(message, notice("This transcription was cancelled.", "info"));
    else replace(message);
    if (job.status === "COMPLETED") loadTranscript();
    else if (!loadedTranscript) replace(transcript, h("h2", { id: "transcript-title" }, "Transcript"), h("p", { class: "muted" }, RUNNING.has(job.status) ? "The transcript appears here when the job completes." : "There is no transcript."));
  }

  const stop = subscribe((changed) => {
    if (changed.id !== id) return;
    job = changed;
    show();
  });
  replace(
    main,
    h("p", {}, h("a", { href: "#/jobs" }, "← All jobs")),
    h("h1", {}, jobName(job)),
    facts,
    progressArea,
    actions,
    message,
    h("div", { class: "player" }, h("label", { for: "player" }, "Audio"), player),
    transcript,
  );
  show();
  main.append(await webhookSection(job));
  return stop;
}

// MARK: - Usage

function dailyChart(report) {
  const [year, month] = report.period.split("-").map(Number);
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const byDay = new Map(report.daily.map((entry) => [Number(entry.day.slice(8, 10)), entry.audioMinutes]));
  const highest = Math.max(1, ...byDay.values());
  const width = 640;
  const height = 180;
  const barWidth = width / days;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 20}`, class: "chart", role: "img", "aria-labelledby": "chart-title" });
  chart.append(svg("title", { id: "chart-title" }, `Audio minutes per day in ${report.period}`));
  chart.append(svg("line", { x1: 0, y1: height, x2: width, y2: height, class: "axis" }));
  chart.append(svg("line", { x1: 0, y1: 10, x2: width, y2: 10, class: "axis" }));
  chart.append(svg("text", { x: 2, y: 8, class: "tick start" }, `${highest.toFixed(1)} min`));
  for (let day = 1; day <= days; day += 1) {
    const minutes = byDay.get(day) || 0;
    const barHeight = (minutes / highest) * (height - 10);
    const bar = svg("rect", { x: (day - 1) * barWidth + 1, y: height - barHeight, width: Math.max(1, barWidth - 2), height: barHeight, class: "bar", "data-day": day });
    bar.append(svg("title", {}, `${report.period}-${String(day).padStart(2, "0")}: ${minutes.toFixed(1)} min`));
    chart.append(bar);
    if (day === 1 || day % 5 === 0) chart.append(svg("text", { x: (day - 0.5) * barWidth, y: height + 15, class: "tick" }, String(day)));
  }
  const table = h(
    "table", { class: "visually-hidden" },
    h("caption", {}, "Minutes per day"),
    h("tbody", {}, report.daily.map((entry) => h("tr", {}, h("th", { scope: "row" }, entry.day), h("td", {}, entry.audioMinutes.toFixed(1))))),
  );
  return h("figure", { class: "chart-figure" }, chart, h("figcaption", { class: "muted" }, `Minutes of audio per day, ${report.period} (UTC)`), table);
}

export async function renderUsage(main) {
  document.title = "Usage · WhisperAPI";
  const report = await request("GET", "/api/v1/usage");
  const limits = store.session.limits;
  const quota = report.quotaMinutes;
  const used = report.audioMinutes;
  const meter = quota === null
    ? h("p", {}, `${used.toFixed(1)} minutes this month (no monthly quota: metered).`)
    : h(
        "div", { class: "quota" },
        h("label", { for: "quota-meter" }, `${used.toFixed(1)} of ${quota} minutes used this month`),
        h("meter", { id: "quota-meter", min: 0, max: quota, value: Math.min(used, quota), high: quota * 0.8, optimum: 0 }),
        h("p", { class: "muted" }, `${report.remainingMinutes.toFixed(1)} minutes left; the month ends ${formatDate(report.periodEndsAt)}.`),
      );
  const fact = (term, value) => [h("dt", {}, term), h("dd", {}, value)];
  replace(
    main,
    h("h1", {}, "Usage"),
    h("section", { class: "card" }, h("h2", {}, `This month (${report.period})`), meter, h("dl", { class: "facts" }, fact("Completed jobs", String(report.jobs)), fact("Audio", `${used.toFixed(1)} min`))),
    h("section", { class: "card" }, h("h2", {}, "Minutes per day"), dailyChart(report)),
    h(
      "section", { class: "card" },
      h("h2", {}, `Your plan: ${report.plan}`),
      h(
        "dl", { class: "facts" },
        fact("Jobs at once", String(limits.concurrentJobs)),
        fact("Requests per minute", String(limits.requestsPerMinute)),
        fact("Largest file", formatBytes(limits.maxUploadBytes)),
        fact("Monthly minutes", limits.monthlyMinutes === null ? "Unlimited (metered)" : String(limits.monthlyMinutes)),
        fact("Models", limits.models.join(", ")),
      ),
    ),
  );
  return null;
}

// MARK: - Settings

export async function renderSettings(main) {
  document.title = "Settings · WhisperAPI";
  const current = await request("GET", "/api/v1/keys/current/webhook");
  const url = h("input", { id: "webhook-url", type: "url", value: current.url || "", placeholder: "https://example.com/hooks/whisperapi", "aria-describedby": "webhook-help" });
  const saved = h("div", { class: "messages", "aria-live": "polite" });
  const secretOut = h("div", { class: "messages", "aria-live": "polite" });
  const form = h(
    "form", { id: "webhook-form", class: "card" },
    h("h2", {}, "Default webhook"),
    h("p", { id: "webhook-help", class: "muted" }, `Where transcriptions made with this key (${store.session.keyPrefix}…) report when they end, unless a submit names its own. Leave empty for none.`),
    h("label", { for: "webhook-url" }, "Webhook URL"),
    url,
    h("button", { type: "submit" }, "Save"),
    saved,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await request("PUT", "/api/v1/keys/current/webhook", { url: url.value.trim() || null });
      replace(saved, notice(answer.url ? `Saved: ${answer.url}` : "Saved: no default webhook.", "success"));
    } catch (error) {
      replace(saved, notice(error.message, "error"));
    }
  });
  const rotate = h("button", { type: "button", id: "rotate-secret", class: "secondary" }, "Make a new signing secret");
  rotate.addEventListener("click", async () => {
    if (!window.confirm("Make a new webhook signing secret? Receivers that check the old one will refuse new webhooks until they are given the new one.")) return;
    try {
      const { secret } = await request("POST", "/api/v1/keys/current/webhook/secret");
      replace(secretOut, h("p", {}, "The new secret, shown only this once:"), h("code", { id: "new-secret", class: "secret" }, secret));
    } catch (error) {
      replace(secretOut, notice(error.message, "error"));
    }
  });
  replace(
    main,
    h("h1", {}, "Settings"),
    form,
    h("section", { class: "card" }, h("h2", {}, "Webhook signing secret"), h("p", { class: "muted" }, "Webhooks carry WhisperAPI-Signature, an HMAC-SHA256 made with this key's secret."), rotate, secretOut),
  );
  return null;
}
