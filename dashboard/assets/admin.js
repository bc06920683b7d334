// The admin page (admin keys only; the API refuses everyone else): users and plans, a user's keys, the queue.
import { request } from "./api.js";
import { h, replace, notice, announce, formatDate } from "./ui.js";
import { store } from "./store.js";

const PLANS = ["FREE", "PRO", "PAYG"];

function planSelect(id, selected, label) {
  return h("select", { id, "aria-label": label }, PLANS.map((plan) => h("option", { value: plan, selected: plan === selected || null }, plan)));
}

function queueSection() {
  const counts = h("dl", { class: "facts counts", id: "queue-counts" });
  const message = h("div", { class: "messages", "aria-live": "polite" });
  const clean = h("button", { type: "button", id: "queue-clean", class: "secondary" }, "Clean up finished jobs");
  async function refresh() {
    try {
      const stats = await request("GET", "/api/v1/admin/queue");
      replace(counts, ["waiting", "active", "delayed", "completed", "failed", "cancelled"].map((state) => [
        h("dt", {}, state[0].toUpperCase() + state.slice(1)), h("dd", { "data-state": state }, String(stats[state] ?? 0)),
      ]));
    } catch (error) {
      replace(message, notice(error.message, "error"));
    }
  }
  clean.addEventListener("click", async () => {
    try {
      const { removed } = await request("POST", "/api/v1/admin/queue/cleanup");
      replace(message, notice(`Removed ${removed} finished job${removed === 1 ? "" : "s"} past their retention.`, "success"));
      refresh();
    } catch (error) {
      replace(message, notice(error.message, "error"));
    }
  });
  const section = h("section", { class: "card", "aria-labelledby": "queue-title" }, h("h2", { id: "queue-title" }, "Queue"), counts, clean, message);
  refresh();
  const timer = setInterval(refresh, 2000);
  return { section, stop: () => clearInterval(timer) };
}

function keysPanel(user, onMessage) {
  const list = h("tbody");
  const created = h("div", { class: "messages", "aria-live": "polite" });
  const name = h("input", { id: `key-name-${user.id}`, type: "text", maxlength: "100", autocomplete: "off" });
  async function load() {
    const { items } = await request("GET", `/api/v1/admin/users/${user.id}/keys`);
    replace(
      list,
      items.map((key) =>
        h(
          "tr", { "data-prefix": key.prefix },
          h("td", {}, h("code", {}, key.prefix)),
          h("td", {}, key.name || "–"),
          h("td", {}, formatDate(key.createdAt)),
          h("td", {}, key.lastUsedAt ? formatDate(key.lastUsedAt) : "never"),
          h("td", {}, key.revokedAt ? `Revoked ${formatDate(key.revokedAt)}` : "Active"),
          h("td", {}, key.revokedAt ? null : h("button", {
            type: "button", class: "danger revoke", "aria-label": `Revoke ${key.prefix}`,
            onClick: async () => {
              if (!window.confirm(`Revoke ${key.prefix}? Every request and session using it stops at once.`)) return;
              try {
                await request("DELETE", `/api/v1/admin/keys/${encodeURIComponent(key.prefix)}`);
                announce(`${key.prefix} revoked`);
                load();
              } catch (error) {
                onMessage(notice(error.message, "error"));
              }
            },
          }, "Revoke")),
        ),
      ),
    );
  }
  const form = h(
    "form", { class: "inline" },
    h("label", { for: `key-name-${user.id}` }, "New key's name"),
    name,
    h("button", { type: "submit" }, "Create key"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await request("POST", `/api/v1/admin/users/${user.id}/keys`, { name: name.value.trim() || null });
      name.value = "";
      replace(
        created,
        h("p", {}, `New key for ${user.email}, shown only this once:`),
        h("code", { class: "secret new-key" }, answer.key),
        h("p", {}, "Its webhook signing secret:"),
        h("code", { class: "secret" }, answer.webhookSecret),
      );
      load();
    } catch (error) {
      replace(created, notice(error.message, "error"));
    }
  });
  const panel = h(
    "div", { class: "keys-panel", id: `keys-${user.id}` },
    h("h3", {}, `Keys of ${user.email}`),
    h("table", { class: "compact" }, h("thead", {}, h("tr", {}, ["Prefix", "Name", "Created", "Last used", "State", ""].map((title) => h("th", { scope: "col" }, title)))), list),
    form,
    created,
  );
  load().catch((error) => onMessage(notice(error.message, "error")));
  return panel;
}

function usersSection() {
  const body = h("tbody");
  const message = h("div", { class: "messages", "aria-live": "polite" });
  const panels = h("div", { class: "panels" });
  const say = (node) => replace(message, node);
  async function load() {
    const { items } = await request("GET", "/api/v1/admin/users");
    replace(
      body,
      items.map((user) => {
        const plan = planSelect(`plan-${user.id}`, user.plan, `Plan of ${user.email}`);
        plan.addEventListener("change", async () => {
          try {
            await request("PATCH", `/api/v1/admin/users/${user.id}`, { plan: plan.value });
            say(notice(`${user.email} is now on ${plan.value}.`, "success"));
          } catch (error) {
            say(notice(error.message, "error"));
            plan.value = user.plan;
          }
        });
        return h(
          "tr", { "data-email": user.email },
          h("td", { "data-label": "Email" }, user.email),
          h("td", { "data-label": "Plan" }, plan),
          h("td", { "data-label": "Admin" }, user.isAdmin ? "Yes" : "No"),
          h("td", { "data-label": "Created" }, formatDate(user.createdAt)),
          h("td", {}, h("button", {
            type: "button", class: "secondary show-keys", "aria-label": `Keys of ${user.email}`,
            onClick: () => replace(panels, keysPanel(user, say)),
          }, "Keys")),
        );
      }),
    );
  }
  const email = h("input", { id: "new-user-email", type: "email", required: true, autocomplete: "off" });
  const plan = planSelect("new-user-plan", "FREE", null);
  const admin = h("input", { id: "new-user-admin", type: "checkbox" });
  const form = h(
    "form", { id: "new-user-form", class: "inline" },
    h("div", { class: "field" }, h("label", { for: "new-user-email" }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: "new-user-plan" }, "Plan"), plan),
    h("div", { class: "field check" }, admin, h("label", { for: "new-user-admin" }, "Admin")),
    h("button", { type: "submit" }, "Create user"),
  );
  plan.removeAttribute("aria-label");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const user = await request("POST", "/api/v1/admin/users", { email: email.value.trim(), plan: plan.value, isAdmin: admin.checked });
      email.value = "";
      admin.checked = false;
      say(notice(`Created ${user.email} (${user.plan}).`, "success"));
      await load();
      replace(panels, keysPanel(user, say));
    } catch (error) {
      say(notice(error.message, "error"));
    }
  });
  load().catch((error) => say(notice(error.message, "error")));
  return h(
    "section", { class: "card", "aria-labelledby": "users-title" },
    h("h2", { id: "users-title" }, "Users"),
    h("table", { id: "users-table" }, h("thead", {}, h("tr", {}, ["Email", "Plan", "Admin", "Created", ""].map((title) => h("th", { scope: "col" }, title)))), body),
    h("h3", {}, "New user"),
    form,
    message,
    panels,
  );
}

export async function renderAdmin(main) {
  document.title = "Admin · WhisperAPI";
  if (!store.session.user.isAdmin) {
    replace(main, h("h1", {}, "Admin"), notice("You do not have access to this page: it needs an admin key.", "error"));
    return null;
  }
  const queue = queueSection();
  replace(main, h("h1", {}, "Admin"), queue.section, usersSection());
  return queue.stop;
}
