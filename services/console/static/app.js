// The console's only script: live plan editing, and the inspector's offline queue of findings.
// Pages work without it (plain forms); with it, changes refresh in place and findings survive a lost connection.
"use strict";

function uuid4() {
  if (self.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function showError(near, message) {
  let box = document.getElementById("js-error");
  if (!box) {
    box = document.createElement("div");
    box.id = "js-error"; box.className = "alert error"; box.setAttribute("role", "alert");
    document.getElementById("main").prepend(box);
  }
  box.textContent = message;
}

// -- live plan editor: post the form, then fetch the schedule and coverage again ---------------------------
async function refreshLive() {
  const live = document.getElementById("live");
  if (!live) return;
  const res = await fetch(live.dataset.liveUrl, {credentials: "same-origin"});
  if (!res.ok) return;
  live.innerHTML = await res.text();
  const etag = document.getElementById("live-etag"), approve = document.getElementById("approve-etag");
  if (etag && approve) approve.value = etag.value;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.getAttribute("action") === "/logout" && self.caches) {
    // Pages cached for offline use are the user's: gone at sign-out (shared phones). Queued findings stay.
    caches.keys().then((keys) => keys.forEach((k) => caches.delete(k)));
  }
  if (form.hasAttribute("data-live")) {
    event.preventDefault();
    // The clicked button may carry the value (the unit tree's "+ add" buttons name the unit).
    const button = event.submitter || form.querySelector("button[type=submit]");
    const body = new FormData(form, event.submitter || undefined);
    if (button) button.disabled = true;
    try {
      const res = await fetch(form.action, {method: "POST", body, headers: {"X-Live": "1"},
                                            credentials: "same-origin"});
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        showError(form, (body.message || res.statusText) + (body.field ? ` (${body.field})` : ""));
      } else {
        const old = document.getElementById("js-error"); if (old) old.remove();
      }
      await refreshLive();
    } catch (e) {
      showError(form, String(e));
    } finally {
      if (button) button.disabled = false;
    }
  } else if (form.dataset.offline === "finding") {
    event.preventDefault();
    await queueFinding(form);
  }
});

// -- the offline queue (IndexedDB; photos are kept as Blobs) --------------------------------------------
const DB_NAME = "console-outbox", STORE = "findings";

function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, {keyPath: "id"});
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function store(mode, fn) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const tx = conn.transaction(STORE, mode);
    const result = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
  });
}

const queued = () => store("readonly", (s) => s.getAll());
const putQueued = (item) => store("readwrite", (s) => s.put(item));
const dropQueued = (id) => store("readwrite", (s) => s.delete(id));

async function queueFinding(form) {
  const data = new FormData(form);
  const photo = data.get("photo");
  const item = {
    id: data.get("id"), inspection: form.dataset.inspection, photo_id: data.get("photo_id"),
    body: {id: data.get("id"), criterion_code: data.get("criterion_code"), severity: data.get("severity"),
           description: data.get("description"),
           officials: data.get("official_name") ? [{name: data.get("official_name"),
                                                    position: data.get("official_position") || "—"}] : []},
    photo: photo && photo.size ? photo : null, photo_name: photo && photo.size ? photo.name : null,
    queued_at: new Date().toISOString(),
  };
  await putQueued(item);
  // A fresh id for the next finding; the queued one keeps its own, so sending it twice is harmless.
  form.reset();
  form.querySelector("[name=id]").value = uuid4();
  form.querySelector("[name=photo_id]").value = uuid4();
  setStatus(form.dataset.saved);
  await showPending();
  await sync();
}

function setStatus(text) {
  const line = document.getElementById("finding-status");
  if (line) line.textContent = text || "";
}

async function showPending() {
  const list = document.getElementById("pending-list");
  if (!list) return;
  const items = (await queued()).filter((i) => i.inspection === document.getElementById("finding-form")?.dataset.inspection);
  list.innerHTML = "";
  for (const item of items) {
    const li = document.createElement("li");
    li.dataset.pending = item.id;
    li.textContent = `${list.dataset.label}: ${item.body.criterion_code} — ${item.body.description}`;
    list.append(li);
  }
}

function showSent(finding, item) {
  const list = document.getElementById("finding-list");
  if (!list || list.querySelector(`[data-finding="${finding.id}"]`)) return;
  const li = document.createElement("li");
  li.dataset.finding = finding.id;
  li.textContent = `${finding.criterion_code} — ${finding.description}` + (item.photo ? " 📷" : "");
  list.append(li);
}

let syncing = false;
async function sync() {
  if (syncing || !navigator.onLine || !("indexedDB" in self)) return;
  syncing = true;
  try {
    for (const item of await queued()) {
      let res;
      try {
        res = await fetch(`/api/inspections/${item.inspection}/findings`, {
          method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
          body: JSON.stringify(item.body)});
      } catch (e) { return; }  // still offline: keep everything for the next try
      if (res.status === 401 || res.status === 429 || res.status >= 500) return;
      const finding = await res.json().catch(() => ({}));
      if (!res.ok) {  // refused for good (e.g. the inspection was concluded): say so, do not retry forever
        showError(null, `${item.body.description}: ${finding.message || res.status}`);
        await dropQueued(item.id);
        continue;
      }
      if (item.photo) {
        const form = new FormData();
        form.append("id", item.photo_id);
        form.append("file", item.photo, item.photo_name || "anh.jpg");
        let up;
        try {
          up = await fetch(`/api/findings/${finding.id}/evidence`, {method: "POST", body: form, credentials: "same-origin"});
        } catch (e) { return; }
        if (up.status >= 500 || up.status === 429) return;
      }
      await dropQueued(item.id);
      showSent(finding, item);
      const form = document.getElementById("finding-form");
      if (form) setStatus(form.dataset.sent);
    }
  } finally {
    syncing = false;
    await showPending();
  }
}

// The field a service refused (?field=body.window_start) is marked and focused, so it is found by eye and keyboard.
function markInvalidField() {
  const field = new URLSearchParams(location.search).get("field");
  if (!field) return;
  const name = field.split(".").pop().replace(/\[\d+\]$/, "");
  const input = document.querySelector(`[name="${CSS.escape(name)}"]`);
  if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
}

window.addEventListener("online", sync);
window.addEventListener("DOMContentLoaded", markInvalidField);
window.addEventListener("load", () => {
  if (document.getElementById("finding-form") || document.getElementById("pending-list")) {
    showPending().then(sync);
    setInterval(sync, 15000);
  }
  if ("serviceWorker" in navigator && location.pathname.startsWith("/inspections")) {
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(() => {});
  }
});
