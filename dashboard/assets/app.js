// The dashboard's shell: sign-in, navigation between pages (hash routes), and the header.
import { request } from "./api.js";
import { h, replace, notice, announce } from "./ui.js";
import { store, signedIn, signedOut } from "./store.js";
import { renderJobs } from "./pages.js";
import { renderUpload } from "./upload.js";
import { renderJob } from "./job.js";
import { renderUsage, renderSettings } from "./account.js";
import { renderAdmin } from "./admin.js";

const main = document.getElementById("main");
let cleanup = null;

const routes = [
  [/^#\/upload$/, renderUpload, "upload"],
  [/^#\/jobs$/, renderJobs, "jobs"],
  [/^#\/jobs\/([0-9a-f-]{36})$/, renderJob, "jobs"],
  [/^#\/usage$/, renderUsage, "usage"],
  [/^#\/settings$/, renderSettings, "settings"],
  [/^#\/admin$/, renderAdmin, "admin"],
];

function showShell() {
  const header = document.getElementById("top");
  header.hidden = !store.session;
  if (!store.session) return;
  const { user } = store.session;
  replace(document.getElementById("who"), `${user.email} · ${user.plan}`);
  document.getElementById("nav-admin").hidden = !user.isAdmin;
}

function markNavigation(name) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  showShell();
  if (!store.session) {
    renderSignIn();
    return;
  }
  const hash = location.hash || "#/jobs";
  for (const [pattern, render, name] of routes) {
    const match = pattern.exec(hash);
    if (!match) continue;
    markNavigation(name);
    replace(main);
    try {
      cleanup = (await render(main, ...match.slice(1))) || null;
    } catch (error) {
      replace(main, h("h1", {}, "Something went wrong"), notice(error.message, "error"));
    }
    return;
  }
  markNavigation("");
  replace(main, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/jobs" }, "Go to your jobs")));
}

function renderSignIn() {
  document.title = "Sign in · WhisperAPI";
  const error = h("p", { id: "signin-error", class: "notice notice-error", role: "alert", hidden: true });
  const input = h("input", {
    id: "api-key", name: "key", type: "password", autocomplete: "off", spellcheck: "false", required: true,
    "aria-describedby": "api-key-help",
  });
  const form = h(
    "form",
    { id: "signin-form", class: "card narrow", onSubmit: signIn },
    h("h1", {}, "Sign in"),
    h("p", { id: "api-key-help" }, "Paste your API key (printed once when the server first started, or made by an admin). It is exchanged for a session and not kept in the browser."),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    error,
  );
  replace(main, form);
  input.focus();

  async function signIn(event) {
    event.preventDefault();
    error.hidden = true;
    const key = input.value.trim();
    input.value = "";
    try {
      signedIn(await request("POST", "/auth/session", { key }));
      announce(`Signed in as ${store.session.user.email}`);
      if (!location.hash || location.hash === "#/signin") location.hash = "#/jobs";
      else route();
    } catch (failure) {
      error.hidden = false;
      error.textContent = failure.message;
      input.focus();
    }
  }
}

async function signOut() {
  try {
    await request("DELETE", "/auth/session");
  } catch {
    // Signed out anyway below.
  }
  signedOut();
  announce("Signed out");
  location.hash = "#/signin";
  route();
}

async function start() {
  document.getElementById("sign-out").addEventListener("click", signOut);
  store.onSignedOut = () => route();
  try {
    signedIn(await request("GET", "/auth/session"));
  } catch {
    signedOut();
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
