// booking.js: the customer picks another arrival window from the SMS link
// (/estado/{folio}/horario?code=C). It asks GET /public/reports/{folio}/slots?code= for the
// windows the plan can keep and books one with POST /public/reports/{folio}/book?code=.
// A visit that can no longer change (the technician set out, it is done, the report is
// closed) is said so as soon as the page loads, or when a booking crosses that change:
// asking again could never work, so the page offers no windows and says to call.
import { api, h, t, date, time, showError, clearErrors, busy, ApiError } from './core.js';

const root = document.getElementById('booking');
const form = document.getElementById('slots-form');
const box = document.getElementById('slots');
const folio = root.dataset.folio;
const code = new URLSearchParams(location.search).get('code') || '';
const q = `?code=${encodeURIComponent(code)}`;
const base = `/public/reports/${encodeURIComponent(folio)}`;

// closedText is what to tell the customer when err says the visit can no longer be booked
// online (whatever he tries), or '' when it may still be.
function closedText(err) {
  if (err.status !== 409) return '';
  if (err.code === 'no_visit') return t('st.no_visit'); // its visits were cancelled
  if (err.code === 'illegal_transition') return t('st.locked_visit');
  if (err.code === 'report_closed') return t('st.locked_report');
  if (err.code === 'held_by_incident') return t('st.locked_incident');
  return '';
}

// closed replaces the windows with text and a way back to the report's status.
function closed(text) {
  document.getElementById('booking-intro')?.remove();
  root.replaceChildren(h('p', { class: 'banner', id: 'booking-closed', role: 'status' }, text),
    h('p', {}, h('a', { class: 'button', href: `/estado/${encodeURIComponent(folio)}${q}` }, t('st.back'))));
}

// current says which window the customer holds, or retitles the page for a first choice
// ("Elegir otro horario" over 30 windows, with no word of the one he has, read as if he
// had none). A status that cannot be read leaves the page as it is.
async function current() {
  try {
    const r = await api('GET', base + q);
    const visit = r.visit || (Array.isArray(r.visits) ? r.visits.find((v) => v.status !== 'cancelled') : null);
    const win = visit && visit.window;
    const title = document.querySelector('main h1, h1');
    if (!win) { if (title) title.textContent = t('st.pick_time'); return; }
    document.getElementById('booking-intro')?.after(h('p', { id: 'booking-current' },
      h('strong', {}, t('st.window')), ': ', t('st.window_at', { date: date(win.start), start: time(win.start), end: time(win.end) })));
  } catch { /* the windows below still say what can be booked */ }
}

async function fill() {
  box.replaceChildren(h('legend', { class: 'sr-only' }, t('st.window')));
  try {
    const res = await api('GET', `${base}/slots${q}&days=7`);
    const slots = res.slots || [];
    if (!slots.length) { box.append(h('p', {}, t('st.no_slots'))); form.querySelector('button').hidden = true; return; }
    slots.forEach((s) => box.append(h('label', {},
      h('input', { type: 'radio', name: 'slot', dataset: { start: s.start, end: s.end } }),
      `${date(s.start)}, ${time(s.start)}–${time(s.end)}`)));
  } catch (err) {
    const text = closedText(err);
    if (text) { closed(text); return; }
    showError(form, err, err.status === 404 ? t('err.status_code') : undefined);
    form.querySelector('button').hidden = true;
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const pick = form.querySelector('input[name=slot]:checked');
  if (!pick) { showError(form, new ApiError(422, 'required', '', 'start'), t('field.start')); return; }
  busy(form, async () => {
    try {
      await api('POST', `${base}/book${q}`, { start: pick.dataset.start, end: pick.dataset.end });
      root.replaceChildren(h('p', { class: 'banner ok', role: 'status' }, t('st.booked'), ' ', `${date(pick.dataset.start)}, ${time(pick.dataset.start)}–${time(pick.dataset.end)}`),
        h('p', {}, h('a', { class: 'button primary', href: `/estado/${encodeURIComponent(folio)}${q}` }, t('st.back'))));
    } catch (err) {
      const text = closedText(err);
      if (text) { closed(text); return; }
      if (err.status === 409) { showError(form, err, t('st.gone')); await fill(); return; }
      if (err.status === 404) { showError(form, err, t('err.status_code')); return; }
      showError(form, err);
    }
  });
});
if (!folio || !code) showError(form, new ApiError(404, 'not_found', ''), t('err.status_code')); else { current(); fill(); }
