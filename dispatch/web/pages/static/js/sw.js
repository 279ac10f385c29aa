// sw.js: the technician's page opens without signal. tech.js registers this worker for the
// scope /tech; it keeps the page as last served and the static files it names, so a reload
// with no signal shows the page, and tech.js shows the route and the queue it keeps in
// localStorage. Nothing else is kept: API answers, the live feed and other pages go to the
// network as if there were no worker.
//
// The cache is named by the static version in this file's URL (/static/VERSION/js/sw.js), so
// each release keeps its own files and drops the others when it takes over.
const version = self.location.pathname.split('/')[2];
const CACHE = 'despacho-tech-' + version;
const PREFIX = 'despacho-tech-';
const PAGE = '/tech';

// keepPage stores the page from a response that is the page itself (not a sign-in page it
// was sent to, not an error), and the static files it names.
async function keepPage(cache, res) {
  await cache.put(PAGE, res.clone());
  const html = await res.text();
  const files = new Set(html.match(/\/static\/[0-9a-f]+\/[A-Za-z0-9._\/-]+/g) || []);
  await Promise.all([...files].map(async (u) => { if (!(await cache.match(u, { ignoreVary: true }))) await cache.add(u); }));
}

const isPage = (res) => res.ok && !res.redirected && new URL(res.url).pathname === PAGE;

self.addEventListener('install', (ev) => {
  ev.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(PAGE, { credentials: 'same-origin', cache: 'no-store' });
      if (isPage(res)) await keepPage(cache, res);
    } catch { /* no signal: the page is kept when next served */ }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate' && url.pathname === PAGE) ev.respondWith(page(req));
  else if (url.pathname.startsWith('/static/')) ev.respondWith(file(req));
});

// page serves the page from the network, and keeps it; without signal (or with a gateway
// that cannot reach the server: 502, 503, 504), the page kept. Once the server sends the
// browser elsewhere (signed out: to sign in), the page kept is dropped: it names the
// technician.
async function page(req) {
  const cache = await caches.open(CACHE);
  let res;
  try {
    res = await fetch(req);
  } catch (err) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw err;
  }
  if (res.status >= 502 && res.status <= 504) return (await cache.match(PAGE)) || res;
  if (isPage(res)) await keepPage(cache, res.clone()).catch(() => {});
  else if (res.type === 'opaqueredirect' || res.redirected || res.status === 401 || res.status === 403) await cache.delete(PAGE);
  return res;
}

// file serves a static file: its URL names its content, so the one kept is the one asked for.
async function file(req) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(req, { ignoreVary: true });
  if (kept) return kept;
  const res = await fetch(req);
  if (res.ok) await cache.put(req, res.clone()).catch(() => {});
  return res;
}
