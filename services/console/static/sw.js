// Keeps the inspector's pages and the console's assets usable without a connection (network first, cache fallback).
const CACHE = "console-v1";
const ASSETS = ["/static/app.css", "/static/app.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;  // writes go to the app's own offline queue, never to this cache
  const url = new URL(req.url);
  if (url.origin !== location.origin) return;
  const cacheable = url.pathname.startsWith("/static/") || url.pathname.startsWith("/inspections");
  if (!cacheable) return;
  event.respondWith(fetch(req).then((res) => {
    if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
    return res;
  }).catch(() => caches.match(req).then((hit) => hit || new Response("offline", {status: 503}))));
});
