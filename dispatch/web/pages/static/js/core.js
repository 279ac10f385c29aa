// core.js: what every page needs: strings, the JSON API, error display, DOM building,
// dates in the business time zone and the connection banner.

const body = document.body;
export const lang = body.dataset.lang || 'es';
export const zone = body.dataset.zone || 'America/Mexico_City';
const dict = JSON.parse(body.dataset.i18n || '{}');
const locale = lang === 'en' ? 'en-US' : 'es-MX';

/** t returns the text of key in the page's language, with {name} placeholders filled; with
 * vars.n of 1 it takes the singular, key + '.one', where there is one. */
export function t(key, vars) {
  if (vars?.n === 1 && dict[key + '.one'] !== undefined) key += '.one';
  let s = dict[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll('{' + k + '}', String(v));
  return s;
}

/** ApiError is a failed API call: status 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.status = status; this.code = code; this.field = field || '';
  }
  get offline() { return this.status === 0 || this.status === 502 || this.status === 504; }
}

// The lowest Live-After of the API's answers so far: the live feed's position before the
// oldest read the page shows. A feed opened from it misses nothing those reads did not see.
let loadedAfter = null;

/** liveFrom is where a live feed opened now must start so that the page misses no event
 * since its data was read; null when no answer has told (signed out, or an older server). */
export const liveFrom = () => loadedAfter;

/** api calls the JSON API with the session cookie; it resolves to the parsed answer and
 * throws ApiError. opts: idempotencyKey, signIn (false: do not send to /login on 401),
 * raw (data is a Blob sent as is, with its type). */
export async function api(method, path, data, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (data !== undefined) headers['Content-Type'] = opts.raw ? (data.type || 'application/octet-stream') : 'application/json';
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let res, text;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: data === undefined ? undefined : opts.raw ? data : JSON.stringify(data),
    });
    // The answer can be cut off after its headers (the signal lost, the page leaving):
    // that is no answer either, not a fault of the page's to drop what it sent for.
    text = await res.text();
  } catch {
    connState('offline');
    throw new ApiError(0, 'offline', t('err.offline'));
  }
  if (connShown === 'offline') connState('ok');
  const at = res.ok ? res.headers.get('Live-After') : null;
  if (at !== null && /^\d+$/.test(at)) loadedAfter = Math.min(loadedAfter ?? Infinity, Number(at));
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: a proxy page */ }
  if (res.ok) return json;
  const e = (json && json.error) || {};
  if (res.status === 401 && opts.signIn !== false && body.dataset.user) signIn();
  throw new ApiError(res.status, e.code || 'http_' + res.status, e.message || '', e.field || '');
}

// Leaving the page. A page leaves (to sign in, or to be loaded again) only once no dialog is
// open, so that a form being filled in (the technician's completion, with what he typed, his
// photos and the customer's signature) is not thrown away: sent, its step is queued, and a
// 401 keeps it queued for after sign-in; closed, he gave it up himself. Every path that finds
// the session ended (any api() call answered 401: his position, a reload of the route, the
// send itself; the live feed refused) comes through here, so they all wait alike, and there
// is one wait however many of them there are: no second notice, no second listener.
let away = null; // what the page does once no dialog is open; null while it stays
const toSignIn = () => location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));

/** leave calls go at once, or once no dialog is open. While the page already waits to leave,
 * a call adds no wait: it only makes it go to sign in (signIn) rather than loaded again. */
export function leave(go) {
  const waiting = away !== null;
  if (!waiting || go === toSignIn) away = go;
  if (waiting) return;
  if (!document.querySelector('dialog[open]')) { go(); return; }
  // close does not bubble, but it passes the document on its way down to the dialog.
  document.addEventListener('close', closed, true);
}
function closed() {
  if (document.querySelector('dialog[open]')) return; // another one is still open
  document.removeEventListener('close', closed, true);
  away();
}

/** signIn takes the browser to the sign-in page, which brings it back to this page after;
 * while a dialog is open, the banner says the session ended, and the page goes once the
 * dialog is sent or closed. Called again meanwhile, it changes nothing. */
export function signIn() {
  if (away === toSignIn) return;
  leave(toSignIn);
  connState('ok');
}

/** message returns what to tell a person about err, in the page's language; never raw JSON.
 * A gateway that gave up on the server (502, 504) or a service in maintenance (503) is no
 * fault of ours to report nor of the request: the service is unavailable for a moment.
 * opts.resendSafe says the request may be sent again as it is (it carries its
 * Idempotency-Key): where its answer may have been lost, the person is told that what he
 * wrote is kept and sending again files nothing twice. */
export function message(err, opts = {}) {
  if (!(err instanceof ApiError)) return t('err.500');
  const lost = err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504;
  const safe = lost && opts.resendSafe ? ' ' + t('err.resend_safe') : '';
  if (err.status === 0) return t('err.offline') + safe;
  if (lost) return t('err.unavailable') + safe;
  // A limit names the field it counts (the phone the form texts), but the field is not wrong.
  if (err.status === 429) return dict['code.' + err.code] || t('err.429');
  if (err.field) {
    const leaf = err.field.replace(/\[\d+\]/g, '').split('.').pop();
    const k = 'field.' + leaf;
    if (dict[k]) return dict[k];
  }
  const byStatus = 'err.' + err.status;
  if (dict[byStatus]) return dict[byStatus];
  return err.status >= 500 ? t('err.500') : t('err.400');
}

/** reason says why the API refused, from its code, in the page's language; the API's own
 * (English) words only on English pages, when the code has no text of its own. Without a
 * text for it, reason gives a general one, or '' when generic is false. */
export function reason(err, generic = true) {
  const k = 'code.' + (err && err.code);
  if (dict[k]) return dict[k];
  if (lang === 'en' && err && err.message) return err.message;
  return generic ? t('code.other') : '';
}

/** clearErrors removes the error marks of a form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
  const top = form.querySelector('.form-error');
  if (top) { top.hidden = true; top.textContent = ''; }
}

/** fieldError shows text beside the input named by data-field=field; false when the form
 * has no such input. */
export function fieldError(form, field, text) {
  const input = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
  if (!input) return false;
  const id = 'err-' + field.replace(/[^a-z0-9]/gi, '-');
  const p = h('p', { class: 'field-error', id }, text);
  if (input.tagName === 'FIELDSET') input.append(p); else input.insertAdjacentElement('afterend', p);
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', id);
  return input;
}

/** showError puts err beside the field it names, or at the top of the form, and moves the
 * focus there. */
export function showError(form, err, text) {
  clearErrors(form);
  text = text || message(err);
  const input = err && err.field ? fieldError(form, err.field, text) : false;
  if (input) {
    (input.tagName === 'FIELDSET' ? input.querySelector('input') : input)?.focus();
    return;
  }
  const top = form.querySelector('.form-error');
  if (top) { top.textContent = text; top.hidden = false; top.focus?.(); }
}

/** h builds an element; strings among children become text nodes (never HTML). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** svg builds an SVG element. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const fmtCache = new Map();
function fmt(opts) {
  const key = JSON.stringify(opts);
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat(locale, { timeZone: zone, ...opts }));
  return fmtCache.get(key);
}
/** time formats an RFC 3339 instant as HH:MM in the business zone. */
export const time = (iso) => iso ? fmt({ hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(iso)) : '';
/** date formats an instant as a long date in the business zone. */
export const date = (iso) => iso ? fmt({ weekday: 'long', day: 'numeric', month: 'long' }).format(new Date(iso)) : '';
/** dateTime formats an instant as a short date and time in the business zone. */
export const dateTime = (iso) => iso ? fmt({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(iso)) : '';
/** today returns YYYY-MM-DD of now in the business zone; dayOf that of the instant iso. */
export const today = () => dayOf(new Date());
export function dayOf(iso) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}
/** longDay formats a business day, YYYY-MM-DD, as a long date ("lunes, 30 de noviembre"). */
export const longDay = (day) => new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long' }).format(new Date(day + 'T00:00:00Z'));
/** zoneOffset returns the offset of the business zone at instant d, as "+HH:MM"/"-HH:MM". */
export function zoneOffset(d = new Date()) {
  const n = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(d)
    .find((x) => x.type === 'timeZoneName')?.value || 'GMT';
  return n === 'GMT' ? '+00:00' : n.slice(3);
}

/** newKey returns a random idempotency key. */
export function newKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const conn = document.getElementById('conn');
let connShown = 'ok';
/** connState shows the connection banner: 'ok' hides it, 'offline' and 'reconnecting' say so,
 * and extra is said after. */
export function connState(state, extra) {
  connShown = state;
  if (!conn) return;
  // Once the session ended, the banner says so until the page leaves (see signIn).
  if (away === toSignIn) extra = t('err.401');
  if (state === 'ok' && !extra) { conn.hidden = true; conn.textContent = ''; return; }
  conn.className = 'conn' + (state === 'offline' ? ' offline' : '');
  const parts = [];
  if (state === 'offline') parts.push(t('conn.offline'));
  if (state === 'reconnecting') parts.push(t('conn.reconnecting'));
  if (extra) parts.push(extra);
  conn.textContent = parts.join(' ');
  conn.hidden = false;
}
addEventListener('offline', () => connState('offline'));
addEventListener('online', () => { if (connShown === 'offline') connState('ok'); });

/** busy disables a form's buttons while fn runs. */
export async function busy(form, fn) {
  const buttons = form.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  try { return await fn(); } finally { for (const b of buttons) b.disabled = false; }
}

const signout = document.getElementById('signout');
signout?.addEventListener('click', async () => {
  try { await api('POST', '/api/logout', undefined, { signIn: false }); } catch { /* gone already */ }
  location.assign('/login');
});
