// tech.js: the technician's route for today. Status steps are queued in localStorage and
// sent in order with an Idempotency-Key, so a step taken without signal is sent when the
// connection returns, and a step resent after its answer was lost is not taken twice; the
// route is kept for reading offline. Completion photos (resized to JPEG here) and the
// signature (PNG) wait in IndexedDB and go through the same queue, each under its own key,
// so a resend stores each file once. A completion the server refuses for what he wrote (a
// cause too long) stays queued, marked refused, until he corrects it: his outcome is never
// thrown away. The route is of one business day: when the day turns while the page stays
// open (left open overnight), today's is fetched; one that cannot be says it is of an
// earlier day, and offers no stop to set out for.
import { api, h, t, time, message, reason, showError, clearErrors, fieldError, connState, newKey, today, dayOf, longDay, ApiError } from './core.js';
import { live } from './live.js';

const root = document.getElementById('tech');
const techId = root.dataset.tech;
const list = document.getElementById('route');
const pendingEl = document.getElementById('pending');
const staleEl = document.getElementById('stale');
const dialog = document.getElementById('finish');
const form = document.getElementById('finish-form');
const QKEY = 'despacho.tech.queue.' + techId;
const RKEY = 'despacho.tech.route.' + techId;
const DKEY = 'despacho.tech.route-day.' + techId;
let visits = [];
// routeDay is the business day (YYYY-MM-DD) of the route shown; fetchedOn is the phone's
// business day when the server last answered with a route (the server's day is the one that
// counts: a phone whose clock runs ahead is not told its fresh route is old).
let routeDay = '', fetchedOn = '';
let flushing = false;
// offShift: the server refused his position as taken off shift; sharing is paused.
let offShift = false;
// geoDenied: the phone refused to say where he is; sharing stopped (see sharing()).
let geoDenied = false;

const queue = () => { try { return JSON.parse(localStorage.getItem(QKEY) || '[]'); } catch { return []; } };
const saveQueue = (q) => localStorage.setItem(QKEY, JSON.stringify(q));
// waiting is what is still to be sent: a refused step waits for him, not for the network.
const waiting = () => queue().filter((a) => !a.refused);
// refusedStep is visit v's step that the server refused for what he wrote, if any.
const refusedStep = (v) => queue().find((a) => a.visit === v.id && a.refused);

function showPending(note, bad) {
  const n = waiting().length;
  const parts = [];
  if (note) parts.push(note);
  if (offShift && note !== t('t.off_shift')) parts.push(t('t.off_shift'));
  if (geoDenied) parts.push(t('t.geo_denied'));
  if (n) parts.push(t('conn.pending', { n }));
  pendingEl.textContent = parts.join(' ');
  pendingEl.className = 'flash' + (bad ? ' bad' : '');
  pendingEl.hidden = !parts.length;
}

// pendingStatus is the status a visit will have once the queue is sent (a refused step is
// not on its way: the visit stays where the server has it until he corrects it).
function pendingStatus(v) {
  let s = v.status;
  for (const a of queue()) if (a.visit === v.id && a.body && !a.refused) s = a.body.status;
  return s;
}

// The steps each status may take next, as the server allows them (dispatch.CanMoveVisit).
const NEXT = { booked: ['en_route'], assigned: ['en_route'], en_route: ['on_site', 'not_completed'], on_site: ['completed', 'not_completed'] };
// UNDER_WAY are the statuses of the stop he is at or on his way to.
const UNDER_WAY = ['en_route', 'on_site'];
// DONE are the statuses of a stop with nothing left to do.
const DONE = ['completed', 'not_completed', 'cancelled'];

// The first load takes the answer the page preloads (tech.html): keep the two URLs the same.
// A route asked for before a step the server took since is older than what the page shows:
// it is asked for again.
async function load() {
  const asked = stepsTaken;
  askedAt = performance.now();
  try {
    const on = today();
    const r = await api('GET', `/api/technicians/${techId}/route`);
    if (asked !== stepsTaken) return load();
    visits = r.visits || [];
    routeDay = r.day || on;
    fetchedOn = on;
    localStorage.setItem(RKEY, JSON.stringify(visits));
    localStorage.setItem(DKEY, routeDay);
    dropStaleRefusals();
  } catch (err) {
    // Offline: the stored route is shown. A 401: core's banner says the session ended.
    if (!(err instanceof ApiError && (err.offline || err.status === 401))) showPending(message(err), true);
    try { visits = JSON.parse(localStorage.getItem(RKEY) || '[]'); } catch { visits = []; }
    // A route stored before its day was: the day of its first window.
    routeDay = localStorage.getItem(DKEY) || (visits[0]?.window ? dayOf(visits[0].window.start) : '');
  }
  render();
}

// The business day turns while the page stays open: nothing else would fetch the route
// (no event comes at midnight), and yesterday's stops would stay with their buttons. It is
// checked on a timer, and at once when the phone shows the page again or regains signal.
const earlier = () => !!routeDay && routeDay < today();
// stale: the route shown is of an earlier day and the server has not answered today.
const stale = () => earlier() && fetchedOn !== today();
// A phone whose clock runs ahead of the server's is answered with the server's day: once
// the server has answered on the phone's day, the timer asks again at most once a minute.
let askedAt = -Infinity;
function dayTurned(now) {
  if (!earlier()) return;
  if (!now && fetchedOn === today() && performance.now() - askedAt < 60000) return;
  load();
}

// One tap, one step. A step's button is replaced under his finger by the next one ("En
// camino" by "Llegué"), so the second tap of a double tap would take the next step too: a
// tap (a click from a finger or a mouse, event.detail > 0) within QUIET ms of the buttons
// changing is dropped. A click from the keyboard or a script (detail 0) is one deliberate
// act and is never dropped.
const QUIET = 700;
let quietUntil = 0, shownSteps = '';
function tapped(ev) {
  return ev.detail > 0 && performance.now() < quietUntil;
}

function render() {
  const old = stale();
  staleEl.textContent = old ? t('t.stale_route', { day: longDay(routeDay) }) : '';
  staleEl.hidden = !old;
  if (!visits.length) { list.replaceChildren(h('li', { class: 'muted' }, t('t.empty'))); shownSteps = ''; return; }
  const labels = [];
  // The stops still to do come first, in route order, so that the next one is on the
  // screen as the page opens; the stops done follow, numbered as in the route.
  const stops = visits.map((v, i) => ({ v, i, st: pendingStatus(v) }));
  const done = (x) => DONE.includes(x.st);
  // He cannot be on his way to two places: while a stop is under way, no other offers "En
  // camino" (one stray tap texted a second customer an ETA); it says to finish that one.
  // A stop under way since an earlier day (he set out late and the day turned; the server
  // lists it first, carried_over) does not stop today's, as the server's rule says.
  const underWay = stops.some((x) => UNDER_WAY.includes(x.st) && !x.v.carried_over);
  list.replaceChildren(...[...stops.filter((x) => !done(x)), ...stops.filter(done)].map(({ v, i, st }) => {
    const steps = [];
    const step = (label, fn, primary) => {
      const b = h('button', { type: 'button', class: primary ? 'primary' : '' }, label);
      b.addEventListener('click', (ev) => { if (!tapped(ev)) fn(); });
      steps.push(b);
      labels.push(v.id + ':' + label);
    };
    // A route of an earlier day offers no stop to set out for (the stop he is at can still
    // be finished: the step waits in the queue like any other taken without signal).
    const waits = (st === 'booked' || st === 'assigned') && underWay && !old;
    if ((st === 'booked' || st === 'assigned') && !underWay && !old) step(t('t.en_route'), () => act(v, { status: 'en_route' }), true);
    if (st === 'en_route') step(t('t.arrived'), () => act(v, { status: 'on_site' }), true);
    if (st === 'on_site') step(t('t.complete'), () => finish(v, false), true);
    if (st === 'en_route' || st === 'on_site') step(t('t.not_complete'), () => finish(v, true));
    const links = [];
    const phone = v.customer_phone || v.customer?.phone;
    if (phone) links.push(h('a', { class: 'button tel', href: 'tel:' + phone.replace(/[^+\d]/g, '') }, '☎ ', t('t.call')));
    const where = (v.lat || v.lon) ? `${v.lat},${v.lon}` : '';
    // geo: opens the phone's navigation app; the maps link serves phones without one.
    if (where) links.push(h('a', { class: 'button geo', href: `geo:${where}?q=${where}(${encodeURIComponent(ref(v))})` }, '➤ ', t('t.navigate')));
    if (where || v.address) {
      const maps = where ? 'https://www.google.com/maps/dir/?api=1&destination=' + where
        : 'https://www.google.com/maps/search/?api=1&query=' + encodeURIComponent(v.address);
      links.push(h('a', { class: 'button maps', href: maps, target: '_blank', rel: 'noopener noreferrer' }, t('t.maps')));
    }
    const who = v.customer_name || v.customer?.name;
    const eta = v.eta || v.planned_arrival;
    const refused = refusedStep(v);
    return h('li', { class: 'stop st-' + st + (DONE.includes(st) ? ' done' : ''), dataset: { visit: v.id } },
      h('h2', {}, h('span', {}, t('t.stop', { n: i + 1 }), ' · ', h('span', { class: 'folio' }, ref(v))), h('span', { class: 'badge s-' + st }, t('visit.' + st))),
      v.incident_id ? h('p', {}, h('strong', { class: 'chip bad incident-visit' }, t('t.incident_visit'))) : '',
      v.carried_over && !DONE.includes(st) ? h('p', { class: 'flash warn carried' }, t('t.carried_over', { day: longDay(v.plan_day || dayOf(v.window.start)) })) : '',
      v.window ? h('p', {}, h('strong', {}, t('b.window', { start: time(v.window.start), end: time(v.window.end) })), eta ? ' · ' + t('b.arrival', { time: time(eta) }) : '') : '',
      // His steps come before the customer's name and address, which have no limit he
      // controls: a long address (300 characters) pushed them below a 360x640 screen.
      refused ? refusedNote(v, refused) : '',
      steps.length ? h('div', { class: 'steps' }, steps) : '',
      waits ? h('p', { class: 'muted small one-at-a-time' }, t('t.finish_current')) : '',
      who ? h('p', { class: 'user-text customer' }, who) : '',
      v.address ? h('p', { class: 'user-text address' }, v.address) : '',
      links.length ? h('div', { class: 'links' }, links) : '');
  }));
  const now = labels.join(' ');
  if (now !== shownSteps) quietUntil = performance.now() + QUIET;
  shownSteps = now;
}

// refusedNote says on the stop's card why his step was not recorded, with the way to
// correct it: the form again, with what he wrote.
function refusedNote(v, a) {
  const fix = h('button', { type: 'button', class: 'primary fix' }, t('t.fix'));
  fix.addEventListener('click', () => finish(v, a.body.status === 'not_completed'));
  return h('div', { class: 'flash bad refused', role: 'alert' },
    h('p', {}, t('t.refused', { step: stepName(a.body.status), why: refusalText(a.refused, a.body) })), fix);
}

const stepName = (s) => t(s === 'not_completed' ? 't.not_complete' : s === 'completed' ? 't.complete' : s === 'on_site' ? 't.arrived' : 't.en_route');

// FIELDS maps the fields the server names in a refused step to the form's (the report's
// resolution says notes for the note).
const FIELDS = { cause: 'cause', verdict: 'verdict', service_restored: 'service_restored', reason: 'reason', note: 'note', notes: 'note' };

// refusalText says what is wrong with a refused step's body: too long (counted as the
// server counts, in characters, against the form's own limit), else the field's own text.
function refusalText(r, body) {
  const f = FIELDS[r.field];
  const input = f && form.querySelector(`[data-field="${f}"]`);
  const max = input && Number(input.getAttribute('maxlength'));
  const n = f && typeof body[f] === 'string' ? [...body[f].trim()].length : 0;
  if (max && n > max) return t('t.too_long', { n, max });
  return message(new ApiError(r.status, r.code, r.message, f || ''));
}

// dropStaleRefusals forgets refused steps that can no longer be taken: the visit left his
// route, or moved on without him (a dispatcher finished or cancelled it).
function dropStaleRefusals() {
  const q = queue();
  const keep = q.filter((a) => {
    if (!a.refused) return true;
    const v = visits.find((x) => x.id === a.visit);
    return !!v && (NEXT[v.status] || []).includes(a.body.status);
  });
  if (keep.length !== q.length) saveQueue(keep);
}

// ref is what a stop is known by: its report's folio, or for the repair of an outage (a
// visit planned for an incident itself, with no customer) the incident's folio.
function ref(v) { return v.folio || v.incident_folio || '#' + v.id; }

function act(v, body, files = []) {
  // A step that replaces the one refused: that one goes, his corrected one is sent.
  const q = queue().filter((a) => !(a.visit === v.id && a.refused));
  // Files first: the report is resolved with its photos already there.
  for (const f of files) q.push({ key: f.key, visit: v.id, media: f.kind });
  q.push({ key: newKey(), visit: v.id, body });
  saveQueue(q);
  render();
  // The badge shows the step at once; the count says it is not sent yet, until flush has
  // sent it.
  showPending();
  flush();
}

// The files of queued uploads, by key, in IndexedDB (localStorage holds only strings, and
// too few of them for photos).
const store = new Promise((resolve, reject) => {
  const r = indexedDB.open('despacho-tech', 1);
  r.onupgradeneeded = () => r.result.createObjectStore('files');
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
async function files(mode, fn) {
  const db = await store;
  return new Promise((resolve, reject) => {
    const tx = db.transaction('files', mode);
    const req = fn(tx.objectStore('files'));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}
const putFile = (key, blob) => files('readwrite', (s) => s.put(blob, key));
const getFile = (key) => files('readonly', (s) => s.get(key));
const dropFile = (key) => files('readwrite', (s) => s.delete(key)).catch(() => {});

// send sends one queued action: a status step, or a file.
async function send(a) {
  if (!a.media) return api('POST', `/api/visits/${a.visit}/status`, a.body, { idempotencyKey: a.key });
  const blob = await getFile(a.key);
  if (!blob) return null; // already sent and dropped, or lost with the browser's storage
  await api('POST', `/api/visits/${a.visit}/media?kind=${a.media}`, blob, { idempotencyKey: a.key, raw: true });
  return null;
}

// visitReason is reason(err, false) said of a visit, as the board says it: his steps move
// visits, so an illegal move is the visit's (code.illegal_transition alone names nothing).
function visitReason(err) {
  const k = 'code.' + err.code + '.visit';
  return t(k) === k ? reason(err, false) : t(k);
}

// nextToSend is the first queued action to send: a refused step waits for him, and so does
// whatever of its visit comes after it; other visits' steps go on.
function nextToSend() {
  const held = new Set();
  for (const a of queue()) {
    if (a.refused) held.add(a.visit);
    else if (!held.has(a.visit)) return a;
  }
  return null;
}

// taken records on the route he has the step the server took: once it leaves the queue,
// the stop must still show it while the route is fetched again (seconds over 3G), not the
// status the route had before the step, with that step's buttons.
let stepsTaken = 0;
function taken(a) {
  stepsTaken++;
  const v = visits.find((x) => x.id === a.visit);
  if (!v) return;
  v.status = a.body.status;
  localStorage.setItem(RKEY, JSON.stringify(visits));
}

// Refusals of a step, and what becomes of it:
//   no signal, 429, 5xx       kept, sent again later (its key makes that safe)
//   401                       kept while he signs in again
//   409                       dropped: the visit moved on (cancelled, taken by a dispatcher)
//                             or the step was taken already; said unless the visit shows it
//   404                       dropped: the visit left his route; said
//   other 4xx of an outcome   kept, marked refused: what he wrote is wrong (a cause too
//                             long); the form comes back with it to correct and resend
//   other 4xx of a plain step dropped, said: nothing he can correct
//   any refusal of a file     dropped, said (the step still goes)
async function flush() {
  if (flushing) return;
  flushing = true;
  let note = '', bad = false, stepSent = false, refused = null;
  try {
    for (let a = nextToSend(); a; a = nextToSend()) {
      try {
        await send(a);
        if (!a.media) { stepSent = true; taken(a); }
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 0; // not an answer: a file unread
        if (err instanceof ApiError && (err.offline || status === 503 || status === 429)) {
          // Without signal the banner at the top says it is kept and sent later: the count
          // alone floats over the foot of the screen, one line, clear of the buttons of
          // the stop he just acted on (three lines covered its next step at 360x640).
          note = err.offline ? '' : t('t.queued');
          connState(err.offline ? 'offline' : 'ok');
          break;
        }
        // The session ended while the steps waited: nothing was refused. They stay queued
        // while api() takes him to sign in, and go once he is back on this page.
        if (status === 401) {
          note = message(err);
          bad = true;
          break;
        }
        // A fault of ours: the step may even have been taken. It goes again later, under
        // its key, so it is not taken twice.
        if (err instanceof ApiError && status >= 500) {
          note = message(err);
          bad = true;
          break;
        }
        if (!a.media && status >= 400 && status !== 409 && status !== 404 && (a.body.status === 'completed' || a.body.status === 'not_completed')) {
          saveQueue(queue().map((x) => x.key === a.key ? { ...x, refused: { status, code: err.code, field: err.field, message: err.message } } : x));
          refused = a;
          continue;
        }
        // A step whose answer was lost on the way, sent again after its key was forgotten
        // (a day later): the server refuses the repeat, and the visit shows the step done.
        let done = false;
        if (a.media) {
          note = t('t.file_refused', { why: message(err) });
          bad = true;
          done = true;
        } else if (status === 409) {
          try { done = (await api('GET', `/api/visits/${a.visit}`)).status === a.body.status; } catch { /* keep the refusal */ }
          if (done) taken(a);
        }
        if (!done) {
          const v = visits.find((x) => x.id === a.visit);
          const why = status === 409 ? visitReason(err) : '';
          note = status === 404 ? t('t.visit_gone', { ref: v ? ref(v) : '#' + a.visit })
            : message(err) + (why ? ' (' + why + ')' : '');
          bad = true;
        }
      }
      saveQueue(queue().filter((x) => x.key !== a.key));
      if (a.media) dropFile(a.key);
    }
  } finally {
    flushing = false;
    // A step sent says he is working: sharing paused off shift starts again (once).
    if (stepSent && offShift) sharing(true);
    if (refused) {
      const v = visits.find((x) => x.id === refused.visit);
      note = t('t.refused_flash', { ref: v ? ref(v) : '#' + refused.visit });
      bad = true;
    }
    showPending(note, bad);
  }
  render();
  if (refused) {
    // He is told at once, with the form and what he wrote, unless he is busy in another.
    const v = visits.find((x) => x.id === refused.visit);
    if (v && !dialog.open) finish(v, refused.body.status === 'not_completed');
  }
  if (!waiting().length) load();
}

let current = null;
// finish opens the form that ends visit v. When the server refused the step he sent for it,
// the form comes back as he filled it in, with the refusal beside the field it names.
function finish(v, failed) {
  current = v;
  form.reset();
  clearErrors(form);
  form.classList.toggle('fail', failed);
  document.getElementById('finish-h').replaceChildren((failed ? t('t.not_complete') : t('t.complete')) + ' · ', h('span', { class: 'folio' }, ref(v)));
  photos = [];
  showThumbs();
  if (dialog.open) dialog.close();
  dialog.showModal();
  sigReset();
  const a = refusedStep(v);
  if (a && (a.body.status === 'not_completed') === failed) {
    refill(a.body);
    const text = refusalText(a.refused, a.body);
    const input = fieldError(form, FIELDS[a.refused.field] || '', text);
    if (input) {
      (input.tagName === 'FIELDSET' ? input.querySelector('input') : input).focus();
      return;
    }
    const top = form.querySelector('.form-error');
    top.textContent = text;
    top.hidden = false;
  }
  (failed ? form.reason : form.cause).focus();
}

// refill puts a step's body back in the form.
function refill(b) {
  const check = (name, value) => { const r = form.querySelector(`input[name=${name}][value="${value}"]`); if (r) r.checked = true; };
  if (b.status === 'not_completed') {
    if (b.reason) form.reason.value = b.reason;
  } else {
    form.cause.value = b.cause || '';
    if (b.verdict) check('verdict', b.verdict);
    if (typeof b.service_restored === 'boolean') check('restored', b.service_restored ? 'yes' : 'no');
  }
  form.note.value = b.note || '';
}

// The cause catalog writes the chosen cause into the text the customer is told.
const causePick = document.getElementById('cause-pick');
causePick.addEventListener('change', () => { if (causePick.value) { form.cause.value = causePick.value; clearErrors(form); } });

// Photos: each one taken is resized here (longest side 1280 px, JPEG) before it is kept.
const MAX_PHOTOS = 5, MAX_PHOTO = 600 * 1024;
let photos = []; // {blob, url}
const thumbs = document.getElementById('thumbs');
function showThumbs() {
  for (const img of thumbs.querySelectorAll('img')) URL.revokeObjectURL(img.src);
  thumbs.replaceChildren(...photos.map((p, i) => {
    p.url = URL.createObjectURL(p.blob);
    const rm = h('button', { type: 'button', class: 'link', 'aria-label': t('t.photo_remove', { n: i + 1 }) }, '✕');
    rm.addEventListener('click', () => { photos.splice(i, 1); showThumbs(); form.photo.focus(); });
    return h('li', {}, h('img', { src: p.url, alt: t('b.photo_n', { n: i + 1 }) }), rm);
  }));
}
async function resize(file) {
  const img = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, 1280 / Math.max(img.width, img.height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(img.width * scale));
  c.height = Math.max(1, Math.round(img.height * scale));
  c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
  img.close?.();
  for (const q of [0.8, 0.65, 0.5]) {
    const b = await new Promise((r) => c.toBlob(r, 'image/jpeg', q));
    if (b && b.size <= MAX_PHOTO) return b;
  }
  throw new Error('photo too large');
}
// resizing holds the photos being resized: a form sent meanwhile waits for them, or a photo
// chosen just before "Enviar" would be left out of the completion.
let resizing = [];
form.photo.addEventListener('change', async () => {
  const file = form.photo.files[0];
  form.photo.value = '';
  clearErrors(form);
  if (!file) return;
  if (photos.length + resizing.length >= MAX_PHOTOS) { fieldError(form, 'photos', t('t.photo_many')); return; }
  const job = resize(file).then((blob) => { photos.push({ blob }); showThumbs(); });
  resizing.push(job);
  try {
    await job;
  } catch {
    fieldError(form, 'photos', t('t.photo_bad'));
  } finally {
    resizing = resizing.filter((j) => j !== job);
  }
});

// Signature: drawn with a finger, a pen or the mouse (pointer events) on a canvas sized to
// its box at the screen's pixel density.
const sig = document.getElementById('sig');
const pen = sig.getContext('2d');
let signed = false, drawing = false;
function sigReset() {
  const r = sig.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  sig.width = Math.max(1, Math.round(r.width * dpr));
  sig.height = Math.max(1, Math.round(r.height * dpr));
  pen.setTransform(dpr, 0, 0, dpr, 0, 0);
  pen.fillStyle = '#fff';
  pen.fillRect(0, 0, r.width, r.height);
  pen.lineWidth = 2.5; pen.lineCap = 'round'; pen.lineJoin = 'round'; pen.strokeStyle = '#111';
  signed = false;
}
const at = (ev) => { const r = sig.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
sig.addEventListener('pointerdown', (ev) => {
  ev.preventDefault();
  try { sig.setPointerCapture(ev.pointerId); } catch { /* synthetic pointer */ }
  drawing = true;
  pen.beginPath();
  pen.moveTo(...at(ev));
});
sig.addEventListener('pointermove', (ev) => {
  if (!drawing) return;
  pen.lineTo(...at(ev));
  pen.stroke();
  signed = true;
});
const stop = () => { drawing = false; };
sig.addEventListener('pointerup', stop);
sig.addEventListener('pointercancel', stop);
document.getElementById('sig-clear').addEventListener('click', sigReset);
document.getElementById('finish-cancel').addEventListener('click', () => dialog.close());
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const failed = form.classList.contains('fail');
  const note = form.note.value.trim();
  let body;
  if (failed) {
    if (!form.reason.value) { fieldError(form, 'reason', t('field.reason')).focus(); return; }
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
  await Promise.allSettled(resizing);
  const kept = [];
  if (!failed) {
    const blobs = photos.map((p) => ({ kind: 'photo', blob: p.blob }));
    if (signed) blobs.push({ kind: 'signature', blob: await new Promise((r) => sig.toBlob(r, 'image/png')) });
    for (const f of blobs) {
      const key = newKey();
      try { await putFile(key, f.blob); kept.push({ key, kind: f.kind }); } catch { /* storage refused: the step still goes */ }
    }
  }
  dialog.close();
  act(current, body, kept);
});

// Position sharing: at most one report a minute while the box is ticked; a report that did
// not get through (no signal, 503) goes again at the next fix. The watch hears of a fix
// when the phone moves: parked an hour at a job, it may hear of none, and the board fades a
// position more than 10 minutes old as not heard from (STALE_AFTER_S, board.js). So a beat
// every 15 s, once nothing was reported for 4 minutes, asks the phone where it is and
// reports that fix as the watch's: a parked phone reports every 4-5 minutes, time for one
// report lost before the board fades him. The fix may be a minute old at most (the server
// ages a position by when it was taken); the beat asks at most once a minute and not within
// a minute of a report tried, and a moving phone, reporting each minute, is never asked.
// Off shift the server takes no position (409 off_shift): the phone stops watching where he
// is, and the beat with it, and says so once, keeping his choice; it tries again only on his
// word — ticking the box, opening the page, or a step of a visit sent — never in a loop.
// Once his session ended (401) it stops both too, silently (the banner says it), until the
// page leaves for sign-in. With the box unticked there is no watch and no beat.
// The phone's errors, of the watch or of a beat's ask, are of two kinds. A refused
// permission (he said no, or the phone's location is off) is the phone's answer for him: the
// watch and the beat stop as at his untick, the box is unticked and stored so (a page that
// asked again at each opening would be refused again, or prompt him again), and the page says
// why and how to share again, until he ticks the box. No fix (a basement, a tunnel) or none in
// time is not: the box stays ticked, the watch goes on and a later fix is reported as any
// other; a quiet note by the box says there is no position for now, until the next fix.
const share = document.getElementById('share');
const noFix = document.getElementById('no-fix');
const QUIET_MS = 4 * 60000, BEAT_MS = 15000;
let watch = null, beat = null, lastSent = 0, lastTry = 0;
function sharing(on) {
  localStorage.setItem('despacho.tech.share', on ? '1' : '');
  if (watch !== null) unwatch(watch);
  offShift = geoDenied = false;
  if (!on) return;
  share.checked = true;
  if (!('geolocation' in navigator)) { share.checked = false; showPending(t('t.no_geo'), true); return; }
  lastSent = lastTry = 0;
  const id = navigator.geolocation.watchPosition((p) => report(id, p), (err) => failed(id, err), { enableHighAccuracy: true, maximumAge: 30000 });
  watch = id;
  beat = setInterval(() => {
    const now = Date.now();
    if (now - lastSent < QUIET_MS || now - lastTry < 60000) return;
    lastTry = now;
    // No answer in 30 s (no fix indoors) or no fix: the next beat, a minute on, asks again.
    navigator.geolocation.getCurrentPosition((p) => report(id, p), (err) => failed(id, err), { enableHighAccuracy: true, maximumAge: 60000, timeout: 30000 });
  }, BEAT_MS);
}

// report posts fix p of the watch id, unless the watch ended or a report went within the
// minute.
function report(id, p) {
  if (watch !== id) return;
  noFix.hidden = true;
  if (Date.now() - lastSent < 60000) return;
  lastSent = lastTry = Date.now();
  api('POST', `/api/technicians/${techId}/position`, { lat: p.coords.latitude, lon: p.coords.longitude, at: new Date(p.timestamp).toISOString() })
    .catch((err) => {
      if (err instanceof ApiError && err.code === 'off_shift') { pause(id); return; }
      // The session ended: api() takes the page to sign in once no form is open, and
      // every fix until then would be refused too (each a post over 3G). The watch stops;
      // his choice stays stored, so the page he is brought back to shares again.
      if (err instanceof ApiError && err.status === 401) { unwatch(id); return; }
      lastSent = 0;
    });
}

// unwatch ends the watch id and its beat, if it is still the current one.
function unwatch(id) {
  if (watch !== id) return false;
  navigator.geolocation.clearWatch(watch);
  clearInterval(beat);
  watch = beat = null;
  noFix.hidden = true;
  return true;
}

// failed takes an error of the watch id or of its beat's ask (GeolocationPositionError): a
// refused permission ends sharing as his untick does and says so; any other leaves it on,
// with the quiet note until the next fix.
const DENIED = 1; // GeolocationPositionError.PERMISSION_DENIED
function failed(id, err) {
  if (watch !== id) return;
  if (err?.code !== DENIED) { noFix.hidden = false; return; }
  sharing(false);
  share.checked = false;
  geoDenied = true;
  showPending('', true);
}

// pause stops the watch that met off_shift (not a newer one he started since). His choice
// stays stored, so the page he opens on his next shift shares again.
function pause(id) {
  if (!unwatch(id)) return;
  offShift = true;
  share.checked = false;
  showPending();
}
share.checked = localStorage.getItem('despacho.tech.share') === '1';
share.addEventListener('change', () => {
  const was = offShift || geoDenied;
  sharing(share.checked);
  if (was) showPending(); // the off-shift or refusal note goes with the pause
});
sharing(share.checked);

addEventListener('online', () => { flush(); dayTurned(true); });
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') dayTurned(true); });
setInterval(() => { if (waiting().length) flush(); dayTurned(false); }, 15000);
let debounce = 0;
// A visit's own steps and changes, and route.changed: his day re-timed (another visit
// booked before his, a move, a re-plan) or a visit taken from him, which no visit event
// of his says.
// The feed opens once the route is in, from where it was read (live.js): a visit given him
// in between is sent, not lost. A route shown from the phone's store, with no answer to
// give a position, is loaded again once the feed connects.
const follow = () => live({ onEvent: (m) => { if (m.type.startsWith('visit.') || m.type === 'route.changed') { clearTimeout(debounce); debounce = setTimeout(() => { if (!waiting().length) load(); }, 300); } }, onReload: load });
showPending();
// The page opens again without signal: a worker keeps it and its files (sw.js), fetched once
// the route is shown, so that over 3G they do not delay it. A browser that refuses (private
// mode, an old one) opens the page only with signal, as before.
load().then(() => {
  follow();
  if (waiting().length) flush();
  navigator.serviceWorker?.register(new URL('./sw.js', import.meta.url), { scope: '/tech' }).catch(() => {});
});
