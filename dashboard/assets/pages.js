// The pages of a signed-in user's work: upload and jobs (one job: job.js; usage and settings: account.js).
import { request, upload, uploadBatch, describeFailure } from "./api.js";
import {
  h, replace, announce, notice, progressBar, statusBadge, formatBytes, formatDuration, formatDate, timeTaken, jobName, statusLabels,
} from "./ui.js";
import { store, subscribe } from "./store.js";

export const RUNNING = new Set(["QUEUED", "PROCESSING"]);

// MARK: - Upload

/** This browser tab's uploads, kept while moving between pages. */
const uploads = [];
let uploadOptions = { model: "", language: "", task: "transcribe", word_timestamps: false, batch: false };

/** The current options as form fields. */
function optionFields() {
  const { batch, ...options } = uploadOptions;
  return { ...options, word_timestamps: options.word_timestamps ? "true" : "" };
}

/** Starts uploading files with the current options; each becomes an entry of `uploads`. With the batch option and
 * several files, they go up together as one batch (one request, one webhook, one zip of results). */
export function startUploads(files) {
  if (uploadOptions.batch && files.length > 1) return startBatch(files);
  for (const file of files) {
    const entry = track(file, file.size);
    follow(entry, upload(file, optionFields(), (sent, total) => {
      entry.sent = sent;
      entry.total = total;
      refresh(entry);
    }), "uploaded");
  }
}

/** Uploads files as one batch; each file's entry follows its own item once the batch is queued. */
function startBatch(files) {
  const entries = files.map((file) => track(file, file.size));
  const submitting = uploadBatch(files, optionFields(), (sent, total) => {
    for (const entry of entries) {
      entry.sent = Math.round((sent / total) * entry.file.size);
      entry.total = entry.file.size;
      refresh(entry);
    }
  });
  entries.forEach((entry, index) => {
    follow(entry, submitting.then((batch) => batch.items[index]), "uploaded in a batch");
  });
}

/** Starts a transcription of the audio at `url`, which the server downloads; it becomes an entry of `uploads`. */
export function startFromURL(url) {
  const name = decodeURIComponent(new URL(url).pathname.split("/").filter(Boolean).pop() || new URL(url).host);
  const entry = track({ name, size: 0 }, 0);
  const fields = { audio_url: url, model: uploadOptions.model, task: uploadOptions.task, word_timestamps: uploadOptions.word_timestamps };
  if (uploadOptions.language) fields.language = uploadOptions.language;
  follow(entry, request("POST", "/api/v1/transcribe", fields), "fetched");
}

function track(file, total) {
  const entry = { id: `u${uploads.length}`, file, sent: 0, total, job: null, error: null, views: new Set() };
  uploads.unshift(entry);
  return entry;
}

function follow(entry, submitting, verb) {
  submitting
    .then((submitted) => {
      entry.job = { id: submitted.transcriptionId, status: submitted.status, progress: 0 };
      announce(`${entry.file.name} ${verb}; transcription queued`);
      refresh(entry);
    })
    .catch((error) => {
      entry.error = error.message;
      announce(`${entry.file.name} was not ${verb}: ${error.message}`);
      refresh(entry);
    });
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
  const batch = h("input", { id: "as-batch", name: "batch", type: "checkbox", checked: uploadOptions.batch || null });
  const remember = () => {
    uploadOptions = { model: model.value, language: language.value.trim(), task: task.value, word_timestamps: words.checked, batch: batch.checked };
  };
  for (const control of [model, language, task, words, batch]) control.addEventListener("change", remember);
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
        h("div", { class: "field check" }, batch, h("label", { for: "as-batch" }, "Send several files as one batch (one webhook, one zip of results)")),
      ),
      h("p", { class: "muted" }, `Up to ${formatBytes(store.session.limits.maxUploadBytes)} a file on the ${store.session.user.plan} plan.`),
    ),
    urlForm(show),
    h("section", { "aria-labelledby": "uploads-title" }, h("h2", { id: "uploads-title" }, "Uploads"), list),
  );
  show();
  return () => {
    for (const stop of stops) stop();
  };
}

/** A form that submits an audio URL instead of a file (the server downloads it). */
function urlForm(show) {
  const input = h("input", { id: "audio-url", name: "audio_url", type: "url", required: true, placeholder: "https://example.com/interview.mp3", autocomplete: "off" });
  const submit = (event) => {
    event.preventDefault();
    if (!input.checkValidity()) return input.reportValidity();
    startFromURL(input.value.trim());
    input.value = "";
    show();
  };
  return h(
    "form", { class: "card", id: "url-form", onSubmit: submit },
    h("div", { class: "field" }, h("label", { for: "audio-url" }, "Or transcribe audio from a URL"), input),
    h("button", { type: "submit", class: "primary" }, "Transcribe from URL"),
  );
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
export function jobActions(job, onError) {
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
  const groups = new Map();
  let cursor = null;

  const showError = (text) => replace(message, notice(text, "error"));

  /** A batch's heading row: how many items, how far along, and its zip once every item has ended. */
  function batchGroup(batchId) {
    const summary = h("span", { class: "batch-summary muted" }, "…");
    const zip = h("span", { class: "batch-zip" });
    const header = h(
      "tr", { class: "batch-group", "data-batch": batchId },
      h("th", { colspan: "8", scope: "rowgroup" }, h("span", { class: "batch-title" }, "Batch"), " ", summary, " ", zip),
    );
    let pending = null;
    const refresh = () => {
      if (pending) return;
      pending = setTimeout(async () => {
        pending = null;
        try {
          const batch = await request("GET", `/api/v1/batches/${batchId}`);
          header.dataset.status = batch.status;
          header.querySelector(".batch-title").textContent = `Batch of ${batch.total} file${batch.total === 1 ? "" : "s"}`;
          const ended = batch.total - batch.counts.QUEUED - batch.counts.PROCESSING;
          const failed = batch.counts.FAILED + batch.counts.CANCELLED;
          summary.textContent = `${ended} of ${batch.total} ended${failed ? `, ${failed} failed or cancelled` : ""} · ${batch.progress}%`;
          replace(zip, batch.status === "COMPLETED"
            ? h("a", { href: `/api/v1/batches/${batchId}/result`, download: `batch-${batchId}.zip`, class: "button secondary" }, "Download all (zip)")
            : null);
        } catch (error) {
          summary.textContent = error.message;
        }
      }, 300);
    };
    const group = { header, refresh };
    refresh();
    return group;
  }

  /** Puts a job's row in the table: a batch's items together under its heading, others in order. */
  function place(tr, job, atTop) {
    if (!job.batchId) return atTop ? body.prepend(tr) : body.append(tr);
    let group = groups.get(job.batchId);
    if (!group) {
      group = batchGroup(job.batchId);
      groups.set(job.batchId, group);
      if (atTop) body.prepend(group.header);
      else body.append(group.header);
    }
    tr.dataset.inBatch = job.batchId;
    const members = body.querySelectorAll(`tr[data-in-batch="${job.batchId}"]`);
    (members[members.length - 1] || group.header).after(tr);
    group.refresh();
  }

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
      groups.clear();
      replace(body);
      cursor = null;
    }
    const query = new URLSearchParams({ limit: "20" });
    if (cursor) query.set("cursor", cursor);
    if (filter.value) query.set("status", filter.value);
    try {
      const page = await request("GET", `/api/v1/transcriptions?${query}`);
      for (const job of page.items) if (!rows.has(job.id)) place(row(job), job, false);
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
    if (job.batchId) groups.get(job.batchId)?.refresh();
    if (update) {
      if (matches) update(job);
      else {
        body.querySelector(`tr[data-id="${job.id}"]`)?.remove();
        rows.delete(job.id);
      }
    } else if (matches && RUNNING.has(job.status)) {
      place(row(job), job, true);
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
