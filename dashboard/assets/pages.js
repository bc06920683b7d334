// The jobs page: the signed-in user's transcriptions, live (one job: job.js; upload: upload.js; usage and settings:
// account.js).
import { request, describeFailure } from "./api.js";
import {
  h, replace, announce, notice, progressBar, statusBadge, formatDuration, formatDate, timeTaken, jobName, statusLabels, RUNNING,
} from "./ui.js";
import { subscribe } from "./store.js";
import { startUploads, dropZone } from "./upload.js";

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
