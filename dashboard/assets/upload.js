// The upload page: files (one by one or as a batch) or a URL, with the options, and each upload followed live.
import { request, upload, uploadBatch, describeFailure } from "./api.js";
import { h, replace, announce, progressBar, statusBadge, formatBytes, statusLabels, RUNNING } from "./ui.js";
import { store, subscribe } from "./store.js";

/** This browser tab's uploads, kept while moving between pages. */
const uploads = [];
let uploadOptions = { model: "", language: "", task: "transcribe", word_timestamps: false, diarize: false, speakers: "", batch: false };

/** The current options as form fields. */
function optionFields() {
  const { batch, diarize, speakers, ...options } = uploadOptions;
  const labelled = diarize && store.session.features.diarization;
  return { ...options, word_timestamps: options.word_timestamps ? "true" : "", diarize: labelled ? "true" : "", speakers: labelled ? speakers : "" };
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
  follow(entry, request("POST", "/api/v1/transcribe", { audio_url: url, ...optionFields() }), "fetched");
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

/** A drop zone (also a button that opens the file picker) that hands the chosen files to `onFiles`. */
export function dropZone(text, onFiles) {
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
  const { diarize, speakers, speakerOptions } = speakerControls();
  const remember = () => {
    uploadOptions = {
      model: model.value, language: language.value.trim(), task: task.value, word_timestamps: words.checked,
      diarize: diarize.checked, speakers: speakers.value, batch: batch.checked,
    };
  };
  for (const control of [model, language, task, words, diarize, speakers, batch]) control.addEventListener("change", remember);
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
        speakerOptions,
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

/** The speaker-label option: a checkbox and, once ticked, the number of speakers when known. Where no worker of this
 * deployment can diarize, the checkbox is disabled and says so. */
function speakerControls() {
  const available = store.session.features.diarization;
  const diarize = h("input", {
    id: "diarize", name: "diarize", type: "checkbox", checked: (available && uploadOptions.diarize) || null, disabled: !available || null,
    "aria-describedby": available ? null : "diarize-unavailable",
  });
  const speakers = h("select", { id: "speakers", name: "speakers" },
    h("option", { value: "", selected: !uploadOptions.speakers || null }, "Find out"),
    [1, 2, 3, 4, 5, 6, 7, 8].map((count) => h("option", { value: String(count), selected: uploadOptions.speakers === String(count) || null }, String(count))),
  );
  const count = h("div", { class: "field", hidden: !diarize.checked || null }, h("label", { for: "speakers" }, "Number of speakers"), speakers);
  diarize.addEventListener("change", () => {
    count.hidden = !diarize.checked;
  });
  const speakerOptions = [
    h(
      "div", { class: "field check" }, diarize, h("label", { for: "diarize" }, "Label speakers (who spoke when)"),
      available ? null : h("span", { id: "diarize-unavailable", class: "muted" }, "Not installed on this server"),
    ),
    count,
  ];
  return { diarize, speakers, speakerOptions };
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
