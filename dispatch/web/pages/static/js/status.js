// status.js: the customer's status page. It asks GET /public/reports/{folio}?code= and asks
// again every 30 seconds (and when the page comes back into view or online).
import { api, showError, clearErrors, h, t, date, time, dateTime, ApiError } from './core.js';
import { live } from './live.js';

const form = document.getElementById('lookup');
const result = document.getElementById('result');
const updated = document.getElementById('updated');
const params = new URLSearchParams(location.search);
if (params.get('code')) form.code.value = params.get('code');
let current = null; // {folio, code}
let timer = 0;
let feed = null;
let liveVisit = null; // what the live feed told about the visit
let debounce = 0;

// follow opens the folio's live feed when the server offers one; polling stays as the floor.
function follow() {
  feed?.close();
  if (!current) return;
  feed = live({
    path: `/public/reports/${encodeURIComponent(current.folio)}/live?code=${encodeURIComponent(current.code)}`,
    quiet: true,
    onEvent: (m) => {
      // The feed says more about the visit than the status answer may: keep the latest.
      const d = m.data || {};
      if (m.type === 'visit.en_route') liveVisit = { status: 'en_route', eta: d.eta || d.planned_arrival };
      else if (m.type === 'visit.eta_changed' && liveVisit) liveVisit = { ...liveVisit, eta: d.eta };
      else if (m.type === 'visit.on_site') liveVisit = { status: 'on_site' };
      else if (/^visit\.(completed|not_completed|cancelled)$/.test(m.type)) liveVisit = null;
      clearTimeout(debounce); debounce = setTimeout(() => load(false), 300);
    },
    onReload: () => load(false),
  });
}

// money writes an amount the API gives as pesos in a string ("1349.00") as "$1,349.00 MXN",
// without reading it through a float.
const money = (amount, currency) => {
  const [whole, cents] = String(amount).split('.');
  return '$' + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (cents ? '.' + cents : '') + ' ' + (currency || 'MXN');
};

// outage is the mass outage the report is attached to, as the customer may see it (its
// folio, title and state, when it began, the estimate he was told or the restore), and what
// he is owed for it once resolved; [] when there is none.
function outage(r) {
  const parts = [];
  const inc = r.incident;
  if (inc) {
    const open = inc.status === 'open';
    const rows = [];
    const fact = (label, value, attrs = {}) => value && rows.push(h('dt', {}, t(label)), h('dd', attrs, value));
    fact('st.incident_folio', inc.folio, { id: 'st-incident-folio' });
    fact('st.incident_title', inc.title, { id: 'st-incident-title', class: 'user-text' });
    fact('st.incident_state', t(open ? 'st.incident_open' : 'st.incident_resolved'), { id: 'st-incident-state' });
    fact('st.incident_started', dateTime(inc.started_at));
    if (open) fact('st.incident_estimate', dateTime(inc.estimated_restore_at), { id: 'st-incident-estimate' });
    else fact('st.incident_restored', dateTime(inc.restored_at), { id: 'st-incident-restored' });
    parts.push(h('section', { id: 'st-incident', class: open ? 'outage' : 'outage done' },
      h('h2', {}, t('st.incident')),
      h('p', { class: open ? 'banner' : 'banner ok' }, t(open ? 'st.incident_intro' : 'st.incident_over')),
      h('dl', { class: 'facts' }, rows)));
  }
  const comp = r.compensation;
  if (comp && comp.amount) {
    parts.push(h('section', { id: 'st-compensation', class: 'done' },
      h('h2', {}, t('st.compensation')),
      h('p', {}, t('st.compensation_owed', { amount: money(comp.amount, comp.currency), start: dateTime(comp.outage_start), end: dateTime(comp.outage_end) }))));
  }
  return parts;
}

const pick = (o, ...keys) => { for (const k of keys) { const v = k.split('.').reduce((x, p) => x?.[p], o); if (v !== undefined && v !== null && v !== '') return v; } };

function render(r) {
  const rows = [];
  const fact = (label, value, cls) => value && rows.push(h('dt', {}, t(label)), h('dd', { class: cls }, value));
  fact('st.folio', r.folio, 'big');
  fact('st.status', h('span', { class: 'badge s-' + r.status, id: 'st-status' }, t('status.' + r.status)));
  if (r.kind) fact('st.kind', t('kind.' + r.kind));
  fact('st.filed', dateTime(pick(r, 'created_at')));
  const visit = pick(r, 'visit') || (Array.isArray(r.visits) ? r.visits.find((v) => v.status !== 'cancelled') : null) || liveVisit;
  const win = pick(visit, 'window') || pick(r, 'window', 'appointment');
  const parts = [h('dl', { class: 'facts' }, rows), ...outage(r)];
  if (win && win.start) {
    const txt = t('st.window_at', { date: date(win.start), start: time(win.start), end: time(win.end) });
    const vrows = [h('dt', {}, t('st.window')), h('dd', { id: 'st-window' }, txt)];
    const tech = pick(visit, 'technician_name', 'technician.name') || pick(r, 'technician_name', 'technician.name');
    if (tech) vrows.push(h('dt', {}, t('st.technician')), h('dd', { id: 'st-technician' }, tech));
    parts.push(h('dl', { class: 'facts' }, vrows));
  }
  const vstatus = pick(visit, 'status');
  if (vstatus === 'en_route') {
    const eta = pick(visit, 'eta', 'planned_arrival');
    parts.push(h('p', { class: 'banner', id: 'st-eta' }, t('st.on_the_way'), eta ? ' ' + t('st.eta', { time: time(eta) }) : ''));
  } else if (vstatus === 'on_site') {
    parts.push(h('p', { class: 'banner', id: 'st-on-site' }, t('st.on_site')));
  } else if (vstatus === 'not_completed') {
    parts.push(h('p', { class: 'banner', id: 'st-not-done' }, t('st.not_completed')));
  }
  const cause = pick(r, 'cause', 'outcome.cause', 'resolution.cause');
  const verdict = pick(r, 'verdict', 'outcome.verdict', 'resolution.verdict');
  const restored = pick(r, 'service_restored', 'outcome.service_restored', 'resolution.service_restored');
  if (cause || verdict || restored !== undefined) {
    const o = [];
    if (cause) o.push(h('dt', {}, t('st.cause')), h('dd', { id: 'st-cause', class: 'user-text' }, cause));
    if (verdict) o.push(h('dt', {}, t('st.verdict')), h('dd', { id: 'st-verdict' }, t('verdict.' + verdict)));
    if (restored !== undefined) o.push(h('dt', {}, t('st.restored')), h('dd', { id: 'st-restored' }, restored ? t('st.yes') : t('st.no')));
    parts.push(h('section', { class: 'done' }, h('h2', {}, t('st.outcome')), h('dl', { class: 'facts' }, o)));
  }
  const bookable = visit && ['booked', 'assigned', 'not_completed', 'unscheduled'].includes(vstatus) && pick(r, 'can_rebook') !== false;
  if (bookable) {
    parts.push(h('p', {}, h('a', { class: 'button', href: `/estado/${encodeURIComponent(r.folio)}/horario?code=${encodeURIComponent(current.code)}` }, t(vstatus === 'unscheduled' ? 'st.pick_time' : 'st.change_time'))));
  }
  const tl = Array.isArray(r.timeline) ? r.timeline : [];
  if (tl.length) {
    parts.push(h('h2', {}, t('st.history')), h('ol', { class: 'timeline' },
      tl.map((e) => h('li', {}, h('time', { datetime: e.at }, dateTime(e.at)), t('ev.' + e.type), e.status ? ' · ' + t('status.' + e.status) : '')).reverse()));
  }
  result.replaceChildren(...parts);
  result.hidden = false;
  updated.textContent = t('st.updated', { time: time(new Date().toISOString()) });
  updated.hidden = false;
}

async function load(focus) {
  if (!current) return;
  clearTimeout(timer);
  try {
    const r = await api('GET', `/public/reports/${encodeURIComponent(current.folio)}?code=${encodeURIComponent(current.code)}`);
    clearErrors(form);
    render(r);
    if (focus) result.focus?.();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      result.hidden = true;
      updated.hidden = true;
      showError(form, err, t('err.status_code'));
      current = null;
      return;
    }
    showError(form, err);
  } finally {
    if (current) timer = setTimeout(() => load(false), 30000);
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const folio = form.folio.value.trim().toUpperCase();
  const code = form.code.value.trim();
  clearErrors(form);
  if (!folio || !code) {
    showError(form, new ApiError(422, 'required', '', folio ? 'code' : 'folio'), t('err.required'));
    return;
  }
  current = { folio, code };
  history.replaceState(null, '', `/estado/${encodeURIComponent(folio)}?code=${encodeURIComponent(code)}`);
  load(true).then(() => { if (current) follow(); });
});
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') load(false); });
addEventListener('online', () => load(false));
if (form.folio.value && form.code.value) {
  current = { folio: form.folio.value.trim(), code: form.code.value.trim() };
  load(false).then(() => { if (current) follow(); });
}
