// tech.js: the technician's route for today. Status steps are queued in localStorage and
// sent in order with an Idempotency-Key, so a step taken without signal is sent when the
// connection returns; the route is kept for reading offline.
import { api, h, t, time, message, showError, clearErrors, fieldError, connState, newKey, ApiError } from './core.js';
import { live } from './live.js';

const root = document.getElementById('tech');
const techId = root.dataset.tech;
const list = document.getElementById('route');
const pendingEl = document.getElementById('pending');
const dialog = document.getElementById('finish');
const form = document.getElementById('finish-form');
const QKEY = 'despacho.tech.queue.' + techId;
const RKEY = 'despacho.tech.route.' + techId;
let visits = [];
let flushing = false;

const queue = () => { try { return JSON.parse(localStorage.getItem(QKEY) || '[]'); } catch { return []; } };
const saveQueue = (q) => localStorage.setItem(QKEY, JSON.stringify(q));

function showPending(note, bad) {
  const n = queue().length;
  const parts = [];
  if (note) parts.push(note);
  if (n) parts.push(t('conn.pending', { n }));
  pendingEl.textContent = parts.join(' ');
  pendingEl.className = 'flash' + (bad ? ' bad' : '');
  pendingEl.hidden = !parts.length;
}

// pendingStatus is the status a visit will have once the queue is sent.
function pendingStatus(v) {
  let s = v.status;
  for (const a of queue()) if (a.visit === v.id) s = a.body.status;
  return s;
}

async function load() {
  try {
    const r = await api('GET', `/api/technicians/${techId}/route`);
    visits = r.visits || [];
    localStorage.setItem(RKEY, JSON.stringify(visits));
  } catch (err) {
    if (!(err instanceof ApiError && err.offline)) showPending(message(err), true);
    try { visits = JSON.parse(localStorage.getItem(RKEY) || '[]'); } catch { visits = []; }
  }
  render();
}

function render() {
  if (!visits.length) { list.replaceChildren(h('li', { class: 'muted' }, t('t.empty'))); return; }
  list.replaceChildren(...visits.map((v, i) => {
    const st = pendingStatus(v);
    const steps = [];
    const step = (label, fn, primary) => { const b = h('button', { type: 'button', class: primary ? 'primary' : '' }, label); b.addEventListener('click', fn); steps.push(b); };
    if (st === 'booked' || st === 'assigned') step(t('t.en_route'), () => act(v, { status: 'en_route' }), true);
    if (st === 'en_route') step(t('t.arrived'), () => act(v, { status: 'on_site' }), true);
    if (st === 'on_site') step(t('t.complete'), () => finish(v, false), true);
    if (st === 'en_route' || st === 'on_site') step(t('t.not_complete'), () => finish(v, true));
    const links = [];
    const phone = v.customer_phone || v.customer?.phone;
    if (phone) links.push(h('a', { class: 'button tel', href: 'tel:' + phone.replace(/[^+\d]/g, '') }, '☎ ', t('t.call')));
    const where = (v.lat || v.lon) ? `${v.lat},${v.lon}` : '';
    // geo: opens the phone's navigation app; the maps link serves phones without one.
    if (where) links.push(h('a', { class: 'button geo', href: `geo:${where}?q=${where}(${encodeURIComponent(v.folio)})` }, '➤ ', t('t.navigate')));
    if (where || v.address) {
      const maps = where ? 'https://www.google.com/maps/dir/?api=1&destination=' + where
        : 'https://www.google.com/maps/search/?api=1&query=' + encodeURIComponent(v.address);
      links.push(h('a', { class: 'button maps', href: maps, target: '_blank', rel: 'noopener noreferrer' }, t('t.maps')));
    }
    const who = v.customer_name || v.customer?.name;
    const eta = v.eta || v.planned_arrival;
    return h('li', { class: 'stop st-' + st, dataset: { visit: v.id } },
      h('h2', {}, h('span', {}, t('t.stop', { n: i + 1 }), ' · ', v.folio), h('span', { class: 'badge s-' + st }, t('visit.' + st))),
      v.window ? h('p', {}, h('strong', {}, t('b.window', { start: time(v.window.start), end: time(v.window.end) })), eta ? ' · ' + t('b.arrival', { time: time(eta) }) : '') : '',
      who ? h('p', { class: 'user-text customer' }, who) : '',
      v.address ? h('p', { class: 'user-text address' }, v.address) : '',
      links.length ? h('div', { class: 'links' }, links) : '',
      steps.length ? h('div', { class: 'steps' }, steps) : '');
  }));
}

function act(v, body) {
  const q = queue();
  q.push({ key: newKey(), visit: v.id, body });
  saveQueue(q);
  render();
  flush();
}

async function flush() {
  if (flushing) return;
  flushing = true;
  let note = '', bad = false;
  try {
    for (let q = queue(); q.length; q = queue()) {
      const a = q[0];
      try {
        await api('POST', `/api/visits/${a.visit}/status`, a.body, { idempotencyKey: a.key });
      } catch (err) {
        if (err instanceof ApiError && (err.offline || err.status === 503 || err.status === 429)) {
          note = t('t.queued');
          connState(err.offline ? 'offline' : 'ok');
          break;
        }
        // A step whose answer was lost on the way may have been taken already: then the
        // server refuses the repeat, and the visit shows the step done.
        let done = false;
        if (err instanceof ApiError && err.status === 409) {
          try { done = (await api('GET', `/api/visits/${a.visit}`)).status === a.body.status; } catch { /* keep the refusal */ }
        }
        if (!done) {
          note = message(err) + (err.message && err.status === 409 ? ' (' + err.message + ')' : '');
          bad = true;
        }
      }
      saveQueue(queue().filter((x) => x.key !== a.key));
    }
  } finally {
    flushing = false;
    showPending(note, bad);
  }
  if (!queue().length) load();
}

let current = null;
function finish(v, failed) {
  current = v;
  form.reset();
  clearErrors(form);
  form.classList.toggle('fail', failed);
  document.getElementById('finish-h').textContent = (failed ? t('t.not_complete') : t('t.complete')) + ' · ' + v.folio;
  dialog.showModal();
  (failed ? form.reason : form.cause).focus();
}
document.getElementById('finish-cancel').addEventListener('click', () => dialog.close());
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const failed = form.classList.contains('fail');
  const note = form.note.value.trim();
  let body;
  if (failed) {
    body = { status: 'not_completed', reason: form.reason.value, note };
  } else {
    const cause = form.cause.value.trim();
    const verdict = form.querySelector('input[name=verdict]:checked')?.value;
    const restored = form.querySelector('input[name=restored]:checked')?.value;
    let first = null;
    if (!cause) first = fieldError(form, 'cause', t('field.cause'));
    if (!verdict) first = first || fieldError(form, 'verdict', t('field.verdict'));
    if (!restored) first = first || fieldError(form, 'service_restored', t('field.service_restored'));
    if (first) { (first.tagName === 'FIELDSET' ? first.querySelector('input') : first).focus(); return; }
    body = { status: 'completed', cause, verdict, service_restored: restored === 'yes', note };
  }
  dialog.close();
  act(current, body);
});

// Position sharing: at most one report a minute while the box is ticked.
const share = document.getElementById('share');
let watch = null, lastSent = 0;
function sharing(on) {
  localStorage.setItem('despacho.tech.share', on ? '1' : '');
  if (watch !== null) { navigator.geolocation.clearWatch(watch); watch = null; }
  if (!on) return;
  if (!('geolocation' in navigator)) { share.checked = false; showPending(t('t.no_geo'), true); return; }
  watch = navigator.geolocation.watchPosition((p) => {
    if (Date.now() - lastSent < 60000) return;
    lastSent = Date.now();
    api('POST', `/api/technicians/${techId}/position`, { lat: p.coords.latitude, lon: p.coords.longitude, at: new Date(p.timestamp).toISOString() })
      .catch(() => { lastSent = 0; });
  }, () => { share.checked = false; showPending(t('t.no_geo'), true); }, { enableHighAccuracy: true, maximumAge: 30000 });
}
share.checked = localStorage.getItem('despacho.tech.share') === '1';
share.addEventListener('change', () => sharing(share.checked));
sharing(share.checked);

addEventListener('online', flush);
setInterval(() => { if (queue().length) flush(); }, 15000);
let debounce = 0;
live({ onEvent: (m) => { if (m.type.startsWith('visit.')) { clearTimeout(debounce); debounce = setTimeout(() => { if (!queue().length) load(); }, 300); } }, onReload: load });
showPending();
load().then(() => { if (queue().length) flush(); });
