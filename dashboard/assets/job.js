// One job's page: its transcript with the player, downloads, failure and webhook deliveries.
import { request, requestText, describeFailure } from "./api.js";
import { h, replace, announce, notice, progressBar, statusBadge, formatBytes, formatDuration, formatDate, timeTaken, jobName, resultFileName, RUNNING } from "./ui.js";
import { subscribe } from "./store.js";
import { jobActions } from "./pages.js";
import { speakerBook, speakerChip, speakerPanel } from "./speakers.js";

function segmentList(segments, player, book) {
  const items = segments.map((segment, index) =>
    h(
      "li", {},
      h(
        "button",
        {
          type: "button", class: "segment", "data-index": index, "data-start": segment.start, "data-end": segment.end,
          onClick: () => {
            player.currentTime = segment.start;
            player.play().catch(() => {});
          },
        },
        // The button reads "Play from 0:04 Alice: text…" (no fixed aria-label, so a renamed speaker is read too).
        h("span", { class: "time" }, h("span", { class: "visually-hidden" }, "Play from "), formatDuration(segment.start)),
        segment.speaker ? speakerChip(book, segment.speaker) : null,
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

function downloads(job, diarized) {
  const formats = [["text", "Text"], ["srt", "SRT"], ["vtt", "VTT"], ["json", "JSON"], ["verbose_json", "Verbose JSON"]];
  if (diarized) formats.push(["diarized_json", "Diarized JSON"]);
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
      const book = speakerBook(id, result.speakers);
      transcript.append(
        h("div", { class: "toolbar" }, downloads(job, book.has), copy),
        book.has ? speakerPanel(book, result.speakers, transcript) : null,
        segments.length ? segmentList(segments, player, book) : h("p", { class: "muted" }, "No speech was found in this audio."),
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
    else if (job.status === "EXPIRED") replace(message, notice("This transcription is past its plan's retention: its audio and result are deleted.", "info"));
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
