// The dashboard's client of the WhisperAPI REST API. The session cookie (HttpOnly) authenticates every request;
// state-changing requests also send the session's CSRF token. The API key itself never reaches this code after
// sign-in.

let csrfToken = "";

/** An API error with its code, status and a sentence for people. */
export class APIError extends Error {
  constructor(status, code, message) {
    super(humanize(code, message));
    this.status = status;
    this.code = code;
  }
}

const sentences = {
  UNAUTHORIZED: "Please sign in.",
  INVALID_API_KEY: "That API key is not valid, or it was revoked.",
  SESSION_EXPIRED: "Your session has ended. Please sign in again.",
  CSRF_TOKEN_INVALID: "The page is out of date. Reload it and try again.",
  CROSS_SITE_REQUEST: "The request came from another site and was refused.",
  RATE_LIMITED: "Too many requests for your plan. Wait a moment and try again.",
  TOO_MANY_CONCURRENT_JOBS: "Your plan's limit of jobs at once is reached. Wait for one to finish.",
  QUOTA_EXCEEDED: "This month's audio minutes are used up.",
  MODEL_NOT_IN_PLAN: "Your plan cannot use that model.",
  UNSUPPORTED_MEDIA_TYPE: "That file is not audio this service can read (wav, mp3, m4a, ogg, flac, webm).",
  UNSUPPORTED_AUDIO: "That file is not audio this service can read (wav, mp3, m4a, ogg, flac, webm).",
  INVALID_AUDIO: "That file is not audio this service can read (wav, mp3, m4a, ogg, flac, webm).",
  EMPTY_FILE: "That file is empty.",
  PAYLOAD_TOO_LARGE: "The file is larger than your plan allows.",
  FILE_TOO_LARGE: "The file is larger than your plan allows.",
  QUEUE_UNAVAILABLE: "The job queue is unavailable right now. Try again shortly.",
  DATABASE_UNAVAILABLE: "The database is unavailable right now. Try again shortly.",
  STORAGE_UNAVAILABLE: "File storage is unavailable right now. Try again shortly.",
  NOT_FOUND: "Not found.",
  FORBIDDEN: "You do not have access to this.",
  NOT_FAILED: "Only a failed transcription can be retried.",
  JOB_GONE: "The failed job is no longer kept; upload the audio again.",
  INVALID_WEBHOOK_URL: "That webhook URL is not allowed.",
  NETWORK: "The server could not be reached. Check your connection.",
};

/** A sentence for an error code; the server's own message where no sentence is known. */
export function humanize(code, message) {
  if (sentences[code]) return sentences[code];
  if (message) return message.charAt(0).toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? "" : ".");
  return "Something went wrong.";
}

/** A failed job's stored message (`CODE: detail` or plain text) as a sentence. */
export function describeFailure(errorMessage) {
  if (!errorMessage) return "The transcription failed.";
  const match = /^([A-Z_]+):\s*(.*)$/s.exec(errorMessage);
  return match ? humanize(match[1], match[2]) : humanize("", errorMessage);
}

export function setCsrfToken(token) {
  csrfToken = token || "";
}

function headersFor(method, extra = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken;
  return headers;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON
  }
  const error = body && body.error ? body.error : {};
  return new APIError(response.status, error.code || `HTTP_${response.status}`, error.message || response.statusText);
}

/** Calls the API; resolves to the envelope's `data`, rejects with an APIError. */
export async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: headersFor(method, body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new APIError(0, "NETWORK", "");
  }
  if (!response.ok) throw await errorFrom(response);
  const text = await response.text();
  if (!text) return null;
  const parsed = JSON.parse(text);
  return parsed && Object.prototype.hasOwnProperty.call(parsed, "data") ? parsed.data : parsed;
}

/** Fetches a text body (results in text formats). */
export async function requestText(path) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin" });
  } catch {
    throw new APIError(0, "NETWORK", "");
  }
  if (!response.ok) throw await errorFrom(response);
  return response.text();
}

/**
 * Uploads one file as a new transcription. `onProgress(sentBytes, totalBytes)` follows the upload; resolves to the
 * API's `{transcriptionId, jobId, status}`.
 */
export function upload(file, fields, onProgress) {
  return postForm("/api/v1/transcribe", [file], fields, onProgress);
}

/**
 * Uploads several files as one batch (`POST /api/v1/batches`); resolves to the batch, whose `items` follow the
 * files' order.
 */
export function uploadBatch(files, fields, onProgress) {
  return postForm("/api/v1/batches", files, fields, onProgress);
}

/** Posts a multipart form of `fields` and `files`. XMLHttpRequest, because fetch reports no upload progress. */
function postForm(path, files, fields, onProgress) {
  const size = files.reduce((sum, file) => sum + file.size, 0);
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && value !== null && value !== "") form.append(name, value);
    }
    for (const file of files) form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRF-Token", csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status >= 200 && xhr.status < 300 && body && body.data) {
        onProgress(size, size);
        resolve(body.data);
      } else {
        const error = body && body.error ? body.error : {};
        reject(new APIError(xhr.status, error.code || `HTTP_${xhr.status}`, error.message || xhr.statusText));
      }
    });
    xhr.addEventListener("error", () => reject(new APIError(0, "NETWORK", "")));
    xhr.addEventListener("abort", () => reject(new APIError(0, "ABORTED", "the upload was stopped")));
    xhr.send(form);
  });
}

/**
 * The user's event stream (`GET /api/v1/events`): calls `onChange(transcription, eventName)` for every change to
 * any of the user's transcriptions. The browser resumes it with Last-Event-ID after a network break or a server
 * restart; when the server refuses it (signed out), `onClosed()` decides what happens next.
 */
export class EventFeed {
  constructor(onChange, onClosed) {
    this.onChange = onChange;
    this.onClosed = onClosed;
    this.source = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    const source = new EventSource("/api/v1/events", { withCredentials: true });
    this.source = source;
    for (const name of ["queued", "progress", "completed", "failed", "cancelled"]) {
      source.addEventListener(name, (event) => {
        try {
          this.onChange(JSON.parse(event.data), name);
        } catch (error) {
          console.error("bad event", error);
        }
      });
    }
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED && !this.stopped) {
        // The server refused the stream (not a network break, which the browser retries itself).
        setTimeout(() => this.onClosed(), 1000);
      }
    });
  }

  stop() {
    this.stopped = true;
    if (this.source) this.source.close();
    this.source = null;
  }
}
