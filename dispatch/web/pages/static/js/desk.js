// desk.js: the agents' page. A report taken by phone, e-mail or in person, then its visit and
// a window from the slots the plan can keep; a folio's detail with its timeline.
import { api, h, t, showError, clearErrors, fieldError, busy, newKey, date, time, dateTime, today, message, reason, ApiError } from './core.js';
import { timeline, tr } from './timeline.js';

const form = document.getElementById('ticket');
const view = document.getElementById('ticket-view');
const find = document.getElementById('find');
let key = newKey();

function num(v) { return v === '' ? undefined : Number(v); }

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = (n) => form.elements[n].value.trim();
  const body = {
    channel: v('channel'), kind: v('kind'), subject: v('subject'), description: v('description'),
    customer: { name: v('name'), phone: v('phone'), email: v('email'), access_point: v('access_point') || undefined, plan_price: num(v('plan_price')) },
  };
  if (v('line') || v('lat') || v('lon')) body.address = { line: v('line'), lat: num(v('lat')), lon: num(v('lon')) };
  clearErrors(form);
  // Every field the page can check is marked at once (the API names only the first it
  // finds), and the focus goes to the first of them.
  let first = null;
  const bad = (f, k) => { const el = fieldError(form, f, t(k)); first = first || el; };
  const c = body.customer, a = body.address;
  if (!c.name) bad('customer.name', 'field.name');
  if (!c.phone && !c.email) bad('customer.phone', 'field.contact');
  else if (c.phone && !phoneShape(c.phone)) bad('customer.phone', 'field.phone');
  if (c.email && form.elements.email.validity.typeMismatch) bad('customer.email', 'field.email');
  if (c.plan_price !== undefined && !(c.plan_price >= 0)) bad('customer.plan_price', 'field.plan_price');
  if (a && !a.line) bad('address.line', 'field.line');
  if (a && (a.lat === undefined) !== (a.lon === undefined)) bad(a.lat === undefined ? 'address.lat' : 'address.lon', a.lat === undefined ? 'field.lat' : 'field.lon');
  if (a?.lat !== undefined && !(a.lat >= -90 && a.lat <= 90)) bad('address.lat', 'field.lat');
  if (a?.lon !== undefined && !(a.lon >= -180 && a.lon <= 180)) bad('address.lon', 'field.lon');
  if (!body.description) bad('description', 'field.description');
  if (first) { first.focus(); return; }
  busy(form, async () => {
    try {
      const r = await api('POST', '/api/tickets', body, { idempotencyKey: key });
      key = newKey();
      form.reset();
      showTicket(r.folio, r, c);
    } catch (err) {
      showError(form, err);
    }
  });
});

// phoneShape: what could be a phone number as people write it (digits with spaces, dashes,
// dots, brackets or a leading +; 10 digits or more). The API decides whether it is valid.
function phoneShape(v) { return /^\+?[0-9 ().\/-]+$/.test(v) && v.replace(/\D/g, '').length >= 10; }

find.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const folio = find.folio.value.trim().toUpperCase();
  clearErrors(find);
  if (!folio) { showError(find, new ApiError(422, 'required', '', 'folio'), t('err.required')); return; }
  busy(find, async () => {
    try { showTicket(folio, await api('GET', '/api/tickets/' + encodeURIComponent(folio))); }
    catch (err) { showError(find, err, err.status === 404 ? t('err.404') : undefined); }
  });
});

// The search: a report by the customer's phone as the agent reads it off his own phone
// ("55 1234 5678", "+52 55…"), the customer's name, or a word of the subject or the
// description (GET /api/tickets?q=). The matches are listed newest first; one match opens.
const search = h('form', { class: 'form inline-form', id: 'search', novalidate: true },
  h('div', { class: 'field' }, h('label', { for: 'search-q' }, t('d.search')),
    h('input', { id: 'search-q', name: 'q', type: 'search', maxlength: 200, autocomplete: 'off', dataset: { field: 'q' } })),
  h('p', { class: 'form-error', role: 'alert', hidden: true }),
  h('button', { type: 'submit' }, t('d.search_go')));
const results = h('div', { id: 'desk-results', 'aria-live': 'polite' });
find.after(search, results);

search.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = search.q.value.trim();
  clearErrors(search);
  results.replaceChildren();
  if (!q) { showError(search, new ApiError(422, 'required', '', 'q'), t('err.required')); return; }
  busy(search, async () => {
    let items;
    try { items = (await api('GET', '/api/tickets?limit=20&q=' + encodeURIComponent(q))).items || []; }
    catch (err) { showError(search, err); return; }
    if (!items.length) { results.replaceChildren(h('p', { class: 'muted' }, t('d.no_results'))); return; }
    results.replaceChildren(h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, t('st.folio')), h('th', {}, t('st.status')), h('th', {}, t('b.customer')), h('th', {}, t('d.subject')))),
      h('tbody', {}, items.map((it) => h('tr', { dataset: { folio: it.folio } },
        h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => showTicket(it.folio) }, it.folio)),
        h('td', {}, h('span', { class: 'badge s-' + it.status }, t('status.' + it.status))),
        h('td', {}, it.customer?.name || '', it.customer?.phone ? ' · ' + it.customer.phone : ''),
        h('td', { class: 'user-text' }, it.subject || ''))))));
    if (items.length === 1) showTicket(items[0].folio);
  });
});

// refused says why the API refused a step on the report (409), naming the report where the
// code has a text for it: "not possible in the report's current state", not the visit's.
// Other errors keep message()'s text (undefined).
function refused(err) {
  if (!(err instanceof ApiError) || err.status !== 409) return undefined;
  const k = 'code.' + err.code + '.report';
  return t('d.refused', { reason: t(k) === k ? reason(err) : t(k) });
}

// typed, for a report just filed, is the customer as the agent typed him: a phone already on
// file files the report under that customer, whose stored name and e-mail stay as they are,
// and the agent is told when they differ from what he typed.
async function showTicket(folio, created, typed) {
  let r = created;
  try { r = await api('GET', '/api/tickets/' + encodeURIComponent(folio)); } catch { /* show what we have */ }
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, t('st.folio')), h('dd', { class: 'big', id: 'desk-folio' }, r.folio),
    created?.access_code ? [h('dt', {}, t('d.code')), h('dd', { id: 'desk-code' }, created.access_code)] : [],
    h('dt', {}, t('st.status')), h('dd', {}, h('span', { class: 'badge s-' + r.status }, t('status.' + r.status))),
    r.kind ? [h('dt', {}, t('st.kind')), h('dd', {}, t('kind.' + r.kind))] : [],
    r.customer ? [h('dt', {}, t('b.customer')), h('dd', {}, r.customer.name || '', r.customer.phone ? ' · ' + r.customer.phone : '')] : [],
    r.address ? [h('dt', {}, t('b.address')), h('dd', {}, r.address.line || '')] : [],
    r.due_at ? [h('dt', {}, t('st.due')), h('dd', {}, dateTime(r.due_at))] : []);
  const parts = [];
  if (created?.access_code) parts.push(h('p', { class: 'flash', role: 'status' }, t('d.created', { folio: r.folio })));
  const same = (a, b) => (a || '').trim().toLowerCase().replace(/\s+/g, ' ') === (b || '').trim().toLowerCase().replace(/\s+/g, ' ');
  if (typed && r.customer && (!same(typed.name, r.customer.name) || (typed.email && !same(typed.email, r.customer.email)))) {
    parts.push(h('p', { class: 'flash warn', role: 'status', id: 'desk-on-file' },
      t('d.customer_on_file', { name: r.customer.name || '', email: r.customer.email || '—' })));
  }
  parts.push(facts);
  if (r.description) parts.push(h('h3', {}, t('b.description')), h('p', { class: 'user-text', id: 'desk-description' }, r.description));
  const media = await mediaOf(r.folio);
  if (media) parts.push(media);
  const active = ['open', 'in_progress', 'awaiting_visit', 'waiting_customer'].includes(r.status);
  const visits = await visitsOf(r.folio);
  if (active || visits?.length) parts.push(visitsPanel(r, visits, active));
  if (r.version) parts.push(outcomeForm(r, active));
  if (Array.isArray(r.timeline) && r.timeline.length) {
    parts.push(h('h3', {}, t('b.timeline')), timeline(r.timeline, { id: 'desk-timeline' }));
  }
  view.replaceChildren(...parts);
  view.querySelector('#desk-folio')?.scrollIntoView({ block: 'nearest' });
}

// visitsOf lists the report's visits oldest first (GET /api/visits?report=), each with its
// technician's name where it has one; null when they could not be read.
async function visitsOf(folio) {
  let items;
  try { items = (await api('GET', '/api/visits?limit=100&report=' + encodeURIComponent(folio))).items || []; }
  catch { return null; }
  if (items.some((v) => v.technician_id)) {
    try {
      const names = new Map(((await api('GET', '/api/technicians')).technicians || []).map((x) => [x.id, x.name]));
      for (const v of items) v.technician_name = names.get(v.technician_id);
    } catch { /* the ids then */ }
  }
  return items;
}

// A visit not finished (the API keeps one such visit per report: 409 open_visit).
const isOpen = (v) => !['completed', 'not_completed', 'cancelled'].includes(v.status);
// A visit waiting for a window: never booked, or not completed and to be booked again while
// no other visit of its report is open (the API refuses that booking).
const bookable = (v, all) => v.status === 'unscheduled' || (v.status === 'not_completed' && !(all || []).some(isOpen));

// visitsPanel shows the visits of report r (state, promised window, technician), offers the
// window picker for one still waiting for a window, and, while the report is worked on, the
// form for an additional visit, which says that visits exist: an agent looking a folio up
// again books the visit created earlier instead of creating a second one. While one of its
// visits is open the form gives way to a line naming it, since the API would refuse a
// second (409 open_visit). One picker at a
// time: the newest visit waiting for a window, or the one the agent picks. visits null: the
// list could not be read, and the page says so rather than show an empty folio.
function visitsPanel(r, first, active) {
  let visits = first;
  const list = h('div', {});
  const booking = h('div', { id: 'desk-book' });
  const form = active ? visitForm(r, visits, created) : '';
  const openNote = h('p', { class: 'muted', id: 'visit-open', hidden: true });
  const section = h('section', { id: 'desk-visits' }, list, booking, openNote, form);

  function draw() {
    if (visits === null) {
      list.replaceChildren(h('p', { class: 'flash bad', id: 'desk-visits-error' }, t('d.visits_unread')));
    } else if (!visits.length) {
      list.replaceChildren();
    } else {
      list.replaceChildren(h('h3', {}, t('d.visits')), h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'desk-visit-list' },
        h('thead', {}, h('tr', {}, h('th', {}, t('d.visit_col')), h('th', {}, t('st.status')), h('th', {}, t('d.window')),
          h('th', {}, t('st.technician')), h('th', {}, h('span', { class: 'sr-only' }, t('d.book'))))),
        h('tbody', {}, visits.map(row)))));
    }
    const note = form && form.querySelector('#visit-note');
    if (note) {
      note.hidden = !visits?.length;
      note.textContent = visits?.length ? t('d.visits_exist', { n: visits.length }) : '';
    }
    if (form) {
      const standing = (visits || []).find(isOpen);
      form.hidden = !!standing;
      openNote.hidden = !standing;
      openNote.textContent = standing ? t('d.visit_open', { id: standing.id }) : '';
    }
  }

  function row(v) {
    const win = v.window ? t('st.window_at', { date: date(v.window.start), start: time(v.window.start), end: time(v.window.end) }) : t('b.no_window');
    const tech = v.technician_id ? (v.technician_name || '#' + v.technician_id) : t('b.unassigned');
    return h('tr', { dataset: { visit: v.id, status: v.status } },
      h('td', {}, t('d.visit_id', { id: v.id })),
      h('td', {}, h('span', { class: 'badge s-' + v.status }, t('visit.' + v.status))),
      h('td', { class: 'window' }, win),
      h('td', { class: 'technician' }, tech),
      h('td', {}, active && bookable(v, visits)
        ? h('button', { type: 'button', class: 'link', 'aria-label': t('d.pick_slot_for', { id: v.id }), onclick: () => pick(v) }, t('d.pick_slot'))
        : ''));
  }

  // pick shows the window picker of visit v (with a message above it, if any); once booked,
  // the list is read again to show its window and technician.
  async function pick(v, flash) {
    const caption = h('p', { class: 'muted', id: 'desk-book-visit' }, t('d.visit_id', { id: v.id }));
    booking.replaceChildren(flash ? h('p', { class: 'flash' }, flash) : '', caption, await slotForm(v, async () => {
      const again = await visitsOf(r.folio);
      if (again) { visits = again; draw(); }
    }));
  }

  async function created(v) {
    visits = [...(visits || []), v];
    draw();
    await pick(v, t('d.visit_created'));
  }

  draw();
  const waiting = active && visits ? visits.filter((v) => bookable(v, visits)) : [];
  if (waiting.length) pick(waiting[waiting.length - 1]);
  return section;
}

// visitForm creates a visit for report r and hands it to created. Where the report's address
// has no coordinates (reports filed by e-mail or on the web form have only a line), the form
// asks for them and for the address line, filled in with the report's, or with the last
// visit's where an earlier one was given them: the API cannot place the visit without them.
// skillsField is where the agent says what the visit needs: a box per skill the active
// technicians have (named in the page's language where it knows the code), so that a typo
// never asks for a skill nobody has; fiber is ticked at first, as the text field held it.
// Until the team is read (or if it cannot be), a text field of codes separated by commas.
function skillsField() {
  const box = h('div', { class: 'field', dataset: { field: 'skills' } }, h('label', { for: 'skills' }, t('d.skills')),
    h('input', { id: 'skills', name: 'skills', type: 'text', value: 'fiber', autocomplete: 'off', dataset: { field: 'skills' } }));
  api('GET', '/api/technicians?active=true').then((res) => {
    const codes = [...new Set((res.technicians || []).flatMap((x) => x.skills || []))].sort();
    if (!codes.length) return;
    box.replaceChildren(h('fieldset', { class: 'field-group skills', id: 'skills-set', dataset: { field: 'skills' } },
      h('legend', {}, t('d.skills_needed')),
      codes.map((c) => h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: 'skill', value: c, checked: c === 'fiber' }), ' ', tr('skill.', c)))));
  }).catch(() => { /* the text field stays */ });
  return box;
}

function visitForm(r, visits, created) {
  const needsPlace = !(r.address && r.address.lat != null && r.address.lon != null);
  const last = (visits || []).filter((v) => v.lat || v.lon).pop();
  const place = needsPlace ? [
    h('p', { class: 'muted', id: 'visit-place-hint' }, t('d.no_coords')),
    h('div', { class: 'field' }, h('label', { for: 'visit-line' }, t('d.visit_address')),
      h('input', { id: 'visit-line', name: 'line', maxlength: 500, autocomplete: 'off', value: r.address?.line || last?.address || '', dataset: { field: 'address' } })),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'visit-lat' }, t('d.lat')),
        h('input', { id: 'visit-lat', name: 'lat', type: 'number', step: 'any', inputmode: 'decimal', value: last ? last.lat : undefined, dataset: { field: 'lat' } })),
      h('div', { class: 'field' }, h('label', { for: 'visit-lon' }, t('d.lon')),
        h('input', { id: 'visit-lon', name: 'lon', type: 'number', step: 'any', inputmode: 'decimal', value: last ? last.lon : undefined, dataset: { field: 'lon' } }))),
  ] : [];
  const f = h('form', { class: 'form', id: 'visit-form', novalidate: true },
    h('h3', {}, t('d.visit')),
    h('p', { class: 'muted', id: 'visit-note', hidden: true }),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'duration' }, t('d.duration')),
        h('input', { id: 'duration', name: 'duration', type: 'number', min: 5, max: 720, value: 60, inputmode: 'numeric', dataset: { field: 'duration_min' } })),
      skillsField()),
    place,
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('button', { type: 'submit', class: 'primary' }, t('d.visit')));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const skills = f.elements.skills?.value !== undefined && f.elements.skills.type === 'text'
      ? f.elements.skills.value.split(',').map((s) => s.trim()).filter(Boolean)
      : [...f.querySelectorAll('input[name=skill]:checked')].map((x) => x.value);
    const body = { duration_min: Number(f.duration.value), skills };
    if (needsPlace) {
      const line = f.elements.line.value.trim(), lat = num(f.elements.lat.value.trim()), lon = num(f.elements.lon.value.trim());
      let first = null;
      const bad = (field, text) => { const el = fieldError(f, field, text); first = first || el; };
      if ((lat === undefined) !== (lon === undefined)) bad(lat === undefined ? 'lat' : 'lon', t('d.coords_required'));
      if (lat !== undefined && !(lat >= -90 && lat <= 90)) bad('lat', t('field.lat'));
      if (lon !== undefined && !(lon >= -180 && lon <= 180)) bad('lon', t('field.lon'));
      if (first) { first.focus(); return; }
      // Neither given: the API decides (a report it can no longer take a visit for says so
      // before it asks for coordinates).
      if (line) body.address = line;
      if (lat !== undefined) Object.assign(body, { lat, lon });
    }
    busy(f, async () => {
      let v;
      try {
        v = await api('POST', `/api/tickets/${encodeURIComponent(r.folio)}/visits`, body);
      } catch (err) {
        const noPlace = needsPlace && err.status === 422 && err.field === 'lat' && body.lat === undefined;
        showError(f, err, noPlace ? t('d.coords_required') : refused(err));
        return;
      }
      await created(v);
    });
  });
  return f;
}

// slotForm offers the windows the plan can keep for visit v and books the one picked;
// booked(b) is then told the visit as it now stands.
async function slotForm(v, booked) {
  const f = h('form', { class: 'form', id: 'slot-form', novalidate: true }, h('h3', {}, t('d.slots')));
  const box = h('fieldset', { class: 'slots', dataset: { field: 'start' } }, h('legend', { class: 'sr-only' }, t('d.slots')));
  f.append(box, h('p', { class: 'form-error', role: 'alert', hidden: true }), h('button', { type: 'submit', class: 'primary' }, t('d.book')));
  async function fill() {
    box.replaceChildren(h('legend', { class: 'sr-only' }, t('d.slots')));
    try {
      const res = await api('GET', `/api/visits/${v.id}/slots?from=${today()}&days=5`);
      const slots = res.slots || [];
      if (!slots.length) box.append(h('p', {}, t('st.no_slots')));
      slots.forEach((s, i) => box.append(h('label', {},
        h('input', { type: 'radio', name: 'slot', value: i, dataset: { start: s.start, end: s.end } }),
        `${date(s.start)} ${time(s.start)}–${time(s.end)}`)));
    } catch (err) { showError(f, err); }
  }
  await fill();
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const pick = f.querySelector('input[name=slot]:checked');
    clearErrors(f);
    if (!pick) { showError(f, new ApiError(422, 'required', '', 'start'), t('field.start')); return; }
    busy(f, async () => {
      try {
        const b = await api('POST', `/api/visits/${v.id}/book`, { start: pick.dataset.start, end: pick.dataset.end });
        f.replaceChildren(h('p', { class: 'flash', id: 'booked' }, t('st.booked'), ' ', `${date(b.window.start)} ${time(b.window.start)}–${time(b.window.end)}`));
        await booked?.(b);
      } catch (err) {
        if (err.status === 409) { showError(f, err, t('st.gone')); await fill(); }
        else showError(f, err);
      }
    });
  });
  return f;
}

// mediaOf shows the photos and signature the technician took at the report's visits (none:
// nothing to show).
async function mediaOf(folio) {
  let list = [];
  try { list = (await api('GET', `/api/tickets/${encodeURIComponent(folio)}/media`)).media || []; } catch { return null; }
  if (!list.length) return null;
  let n = 0;
  return h('section', { id: 'desk-media' }, h('h3', {}, t('b.media')), h('ul', { class: 'media' }, list.map((m) =>
    h('li', {}, h('a', { href: m.url, target: '_blank', rel: 'noopener' },
      h('img', { src: m.url, class: m.kind, loading: 'lazy', alt: m.kind === 'signature' ? t('b.signature_img') : t('b.photo_n', { n: ++n }) }))))));
}

// The channels an agent tells the customer through (the web form is the customer's own: a
// step stored as "web" is one taken in this application, see timeline.js's channelName).
const stepChannels = ['phone', 'email', 'in_person', 'sms'];

// outcomeForm closes the procedure of report r as the version shown: while it is worked on,
// its outcome (cause, upheld or not, service restored: required of a fault) resolves it;
// once resolved it may be closed or reopened, and once closed reopened. Each step names the
// channel the customer was told through. A step on a version someone else has changed
// meanwhile is refused (stale_version): the folio is shown again as it now stands, with
// what the agent typed kept, so nothing is overwritten unseen.
function outcomeForm(r, active) {
  if (!active && r.status !== 'resolved' && r.status !== 'closed') return '';
  const radio = (name, v, label) => h('label', { class: 'choice' }, h('input', { type: 'radio', name, value: v }), ' ', label);
  const area = (id, name, label, max) => h('div', { class: 'field' }, h('label', { for: id }, label),
    h('textarea', { id, name, rows: 2, maxlength: max, dataset: { field: name } }));
  const f = h('form', { class: 'form', id: 'outcome-form', novalidate: true }, h('h3', {}, t('d.outcome')),
    active ? [
      area('outcome-cause', 'cause', t('st.cause'), 500),
      h('fieldset', { class: 'field', dataset: { field: 'verdict' } }, h('legend', {}, t('t.verdict')),
        radio('verdict', 'upheld', t('verdict.upheld')), radio('verdict', 'not_upheld', t('verdict.not_upheld'))),
      h('fieldset', { class: 'field', dataset: { field: 'service_restored' } }, h('legend', {}, t('t.restored')),
        radio('restored', 'yes', t('st.yes')), radio('restored', 'no', t('st.no'))),
      area('outcome-notes', 'notes', t('t.notes'), 5000),
    ] : area('outcome-reason', 'reason', t('d.reopen_reason'), 5000),
    h('div', { class: 'field' }, h('label', { for: 'outcome-channel' }, t('d.channel')),
      h('select', { id: 'outcome-channel', name: 'channel', dataset: { field: 'channel' } },
        stepChannels.map((c) => h('option', { value: c }, t('channel.' + c))))),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    active ? h('button', { type: 'submit', class: 'primary', value: 'resolve' }, t('d.resolve')) : [
      r.status === 'resolved' ? h('button', { type: 'submit', class: 'primary', value: 'close' }, t('d.close')) : '',
      h('button', { type: 'submit', value: 'reopen' }, t('d.reopen')),
    ]);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const action = ev.submitter?.value || (active ? 'resolve' : 'close');
    const val = (n) => f.elements[n]?.value.trim() || '';
    const picked = (n) => f.querySelector(`input[name=${n}]:checked`)?.value;
    const body = { action, version: r.version, channel: val('channel') };
    clearErrors(f);
    if (action === 'resolve') {
      let first = null;
      const bad = (field, k) => { const el = fieldError(f, field, t(k)); first = first || el; };
      Object.assign(body, { cause: val('cause'), verdict: picked('verdict'), notes: val('notes') || undefined });
      if (picked('restored')) body.service_restored = picked('restored') === 'yes';
      if (!body.cause) bad('cause', 'field.cause');
      if (!body.verdict) bad('verdict', 'field.verdict');
      if (body.service_restored === undefined && r.kind === 'fault') bad('service_restored', 'field.restored');
      if (first) { (first.tagName === 'FIELDSET' ? first.querySelector('input') : first).focus(); return; }
    }
    if (action === 'reopen' && val('reason')) body.reason = val('reason');
    busy(f, async () => {
      try {
        await api('POST', `/api/tickets/${encodeURIComponent(r.folio)}/transitions`, body);
      } catch (err) {
        if (err.status !== 409 || err.code !== 'stale_version') { showError(f, err, refused(err)); return; }
        const typed = [...f.querySelectorAll('textarea, select')].map((el) => [el.name, el.value]);
        await showTicket(r.folio);
        const again = document.getElementById('outcome-form');
        if (!again) return;
        for (const [n, v] of typed) if (again.elements[n] && v) again.elements[n].value = v;
        showError(again, err, reason(err));
        return;
      }
      await showTicket(r.folio);
    });
  });
  return f;
}
