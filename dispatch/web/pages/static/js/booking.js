// booking.js: the customer picks another arrival window from the SMS link
// (/estado/{folio}/horario?code=C). It asks GET /public/reports/{folio}/slots?code= for the
// windows the plan can keep and books one with POST /public/reports/{folio}/book?code=.
import { api, h, t, date, time, showError, clearErrors, busy, ApiError } from './core.js';

const root = document.getElementById('booking');
const form = document.getElementById('slots-form');
const box = document.getElementById('slots');
const folio = root.dataset.folio;
const code = new URLSearchParams(location.search).get('code') || '';
const q = `?code=${encodeURIComponent(code)}`;
const base = `/public/reports/${encodeURIComponent(folio)}`;

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
    showError(form, err, err.status === 404 ? t('err.status_code') : err.code === 'no_visit' ? t('st.no_visit') : undefined);
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
      if (err.status === 409 && err.code !== 'no_visit') { showError(form, err, t('st.gone')); await fill(); return; }
      if (err.status === 404 || err.code === 'no_visit') { showError(form, err, err.status === 404 ? t('err.status_code') : t('st.no_visit')); return; }
      showError(form, err);
    }
  });
});
if (!folio || !code) showError(form, new ApiError(404, 'not_found', ''), t('err.status_code')); else fill();
