// The dashboard's service worker: keeps the page, its script, styles and country outlines, so
// the dashboard opens with no network and an observer's reports can wait in the browser.
// Network first (a new version is used as soon as it can be fetched), the cache when offline.
// The API is never cached.

const sw = self as any; // eslint-disable-line @typescript-eslint/no-explicit-any
const CACHE = "truce-shell-v1";
const SHELL = ["/", "/app.js", "/app.css", "/countries.json"];

sw.addEventListener("install", (e: any) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => sw.skipWaiting()));
});

sw.addEventListener("activate", (e: any) => {
  e.waitUntil(sw.clients.claim());
});

sw.addEventListener("fetch", (e: any) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== sw.location.origin || !SHELL.includes(url.pathname)) return;
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        if (r.ok) {
          const copy = r.clone();
          caches.open(CACHE).then((c) => c.put(e.request, copy));
        }
        return r;
      })
      .catch(() => caches.match(e.request).then((r) => r ?? Response.error())),
  );
});
