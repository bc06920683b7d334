// The account pages: usage this month and settings.
import { request } from "./api.js";
import { h, svg, replace, notice, formatBytes, formatDate } from "./ui.js";
import { store } from "./store.js";

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
