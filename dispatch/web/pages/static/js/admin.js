// admin.js: the administrators' page. Plain forms over the admin API: users and roles,
// technicians (skills, weekly shifts, time off, active), SLA policies, the business
// calendar and SMS templates.
// Every refusal is shown beside the field the API names, in the page's language.
import { api, h, t, showError, clearErrors, fieldError, busy, message, reason, today, zoneOffset, date, dateTime, ApiError } from './core.js';

const me = Number(document.getElementById('admin').dataset.me);
const msg = document.getElementById('admin-msg');
const ROLES = ['agent', 'dispatcher', 'technician', 'admin'];
const KINDS = ['fault', 'complaint', 'inquiry', 'clarification', 'suggestion', 'cancellation', 'other'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const REASONS = ['time_off', 'sick', 'unavailable', 'other'];

function flash(text, bad) {
  msg.textContent = text;
  msg.className = 'flash' + (bad ? ' bad' : '');
  msg.hidden = false;
}

// staleChoice answers a save refused because another admin saved the same record meanwhile
// (409 stale_version). What was typed stays in the form, box says so, and the admin
// chooses: save it over the other's anyway (mine: the caller takes the version now stored
// and saves again) or load what is stored (theirs: the edits are dropped). what names the
// record's texts (adm.<what>.stale, .stale_short, .load_theirs) and the buttons' ids
// (<what>-save-mine, <what>-load-theirs).
function staleChoice(box, what, mine, theirs) {
  const save = h('button', { type: 'button', id: what + '-save-mine' }, t('adm.save_mine'));
  const load = h('button', { type: 'button', id: what + '-load-theirs' }, t(`adm.${what}.load_theirs`));
  save.addEventListener('click', mine);
  load.addEventListener('click', () => { msg.hidden = true; theirs(); });
  box.replaceChildren(h('p', {}, t(`adm.${what}.stale`)), h('div', { class: 'actions' }, save, load));
  box.hidden = false;
  flash(t(`adm.${what}.stale_short`), true);
  save.focus();
}

// say is what to tell the admin about err: the admin page's own words for its fields and
// refusals first, then the pages' common ones.
function say(err) {
  if (err instanceof ApiError) {
    // A code of its own says more than its field (user_linked is about user_id, but the
    // account is taken, not wrong).
    const c = 'adm.code.' + err.code;
    if (t(c) !== c) return t(c);
    if (err.field) {
      // The last two names first (break.minutes is not an SLA's minutes), then the last.
      const names = err.field.replace(/\[\d+\]/g, '').split('.');
      for (const k of ['adm.field.' + names.slice(-2).join('.'), 'adm.field.' + names.at(-1)]) {
        if (t(k) !== k) return t(k);
      }
    }
    if (err.status === 409) return reason(err);
    if (err.status === 422) {
      const why = reason(err, false);
      return why ? message(err) + ' (' + why + ')' : message(err);
    }
  }
  return message(err);
}

// refuse shows err beside its field in form (or at the form's top).
function refuse(form, err) {
  showError(form, err, say(err));
}

const field = (id, label, input) => h('div', { class: 'field' }, h('label', { for: id }, label), input);

// ---- Users ----

const rows = document.getElementById('user-rows');
const newUser = document.getElementById('new-user');

async function loadUsers() {
  try {
    const { users } = await api('GET', '/api/users');
    rows.replaceChildren(...users.map(userRow));
  } catch (err) {
    rows.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'form-error' }, say(err))));
  }
}

// userRow is one user as a small form: role, active, a new password; Save sends what changed.
function userRow(u) {
  const id = 'u' + u.id;
  const self = u.id === me;
  const f = h('form', { id: 'f-' + id, novalidate: true });
  const role = h('select', { id: id + '-role', name: 'role', form: f.id, 'aria-label': t('adm.role_of', { name: u.name }), dataset: { field: 'role' } },
    ROLES.map((r) => h('option', { value: r, selected: r === u.role }, t('role.' + r))));
  const active = h('input', { type: 'checkbox', id: id + '-active', name: 'active', form: f.id, checked: u.active, 'aria-label': t('adm.active_of', { name: u.name }), dataset: { field: 'active' } });
  const pw = h('input', { type: 'password', id: id + '-password', name: 'password', form: f.id, minlength: 12, maxlength: 256, autocomplete: 'new-password', 'aria-label': t('adm.password_of', { name: u.name }), dataset: { field: 'password' } });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', form: f.id, 'aria-label': t('adm.save_user', { name: u.name }) }, t('adm.save'));
  // The cells hold the inputs (tied to the form by their form attribute: a form cannot wrap
  // table cells); errors are shown in the row, beside the input the API names.
  const tr = h('tr', { dataset: { user: u.id }, class: u.active ? '' : 'inactive' },
    h('td', {}, u.name, self ? ' ' + t('adm.you') : ''),
    h('td', {}, u.email),
    h('td', {}, role),
    h('td', {}, active),
    h('td', {}, pw),
    h('td', {}, save, f, err));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = {};
    if (role.value !== u.role) body.role = role.value;
    if (active.checked !== u.active) body.active = active.checked;
    if (pw.value) body.password = pw.value;
    clearErrors(tr);
    if (body.password !== undefined && body.password.length < 12) {
      fieldError(tr, 'password', t('adm.field.password')).focus();
      return;
    }
    if (!Object.keys(body).length) return;
    busy(tr, async () => {
      try {
        const got = await api('PATCH', `/api/users/${u.id}`, body);
        flash(t('adm.saved'));
        const next = userRow(got);
        tr.replaceWith(next);
        next.querySelector('button').focus();
      } catch (e) { refuse(tr, e); }
    });
  });
  return tr;
}

newUser.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = (n) => newUser.elements[n].value.trim();
  const body = { name: v('name'), email: v('email'), role: v('role'), password: newUser.elements.password.value };
  clearErrors(newUser);
  let first = null;
  const bad = (f, k) => { first = first || fieldError(newUser, f, t(k)); };
  if (!body.name) bad('name', 'adm.field.name');
  if (!body.email || !newUser.elements.email.checkValidity()) bad('email', 'adm.field.email');
  if (body.password.length < 12) bad('password', 'adm.field.password');
  if (first) { first.focus(); return; }
  busy(newUser, async () => {
    try {
      const u = await api('POST', '/api/users', body);
      newUser.reset();
      flash(t('adm.created', { name: u.name }));
      await loadUsers();
    } catch (err) { refuse(newUser, err); }
  });
});

// ---- Technicians ----

const pick = document.getElementById('tech-pick');
const techEdit = document.getElementById('tech-edit');
let techs = [];

async function loadTechs(selected) {
  try {
    techs = (await api('GET', '/api/technicians')).technicians || [];
  } catch (err) {
    techEdit.replaceChildren(h('p', { class: 'form-error' }, say(err)));
    return;
  }
  pick.replaceChildren(h('option', { value: '' }, t('adm.new_tech')),
    ...techs.map((x) => h('option', { value: x.id, selected: x.id === selected }, x.name + (x.active ? '' : ' (' + t('adm.inactive') + ')'))));
  if (selected === undefined && techs.length) pick.value = String(techs[0].id);
  showTech();
}
pick.addEventListener('change', () => showTech());

function showTech() {
  const tech = techs.find((x) => String(x.id) === pick.value);
  techEdit.replaceChildren(techForm(tech), tech ? exceptions(tech) : '');
}

function techForm(x) {
  const f = h('form', { class: 'form', id: 'tech-form', novalidate: true });
  const stale = h('div', { class: 'form-error', id: 'tech-stale', role: 'alert', hidden: true });
  const input = (id, name, value, attrs = {}) => h('input', { id, name, value: value ?? '', autocomplete: 'off', dataset: { field: attrs.field || name }, ...attrs, field: undefined });
  // Every shift of his gets a row of its own, break included: a day may hold two shifts
  // (a split day) and a shift a lunch break, and a save must send them back as they were.
  // A day without shifts gets one empty row; "+" adds another row to a day.
  const shiftBox = h('div', { class: 'shifts' });
  const shiftRow = (d, s, k) => {
    const day = t('adm.day.' + d);
    const id = k ? `sh-${d}-${k}` : `sh-${d}`;
    const time = (suffix, label, value) => field(`${id}-${suffix}`, label, h('input', { id: `${id}-${suffix}`, type: 'time', name: `${suffix}-${d}`, value: value || '', dataset: { part: suffix } }));
    const more = h('button', { type: 'button', class: 'link', 'aria-label': t('adm.add_shift', { day }) }, '+');
    const row = h('div', { class: 'row shift', dataset: { day: d } },
      h('span', { class: 'label day' }, k ? '' : day),
      time('start', t('adm.shift_start', { day }), s?.start),
      time('end', t('adm.shift_end', { day }), s?.end),
      time('brk-start', t('adm.break_start', { day }), s?.break?.start),
      time('brk-end', t('adm.break_end', { day }), s?.break?.end),
      field(`${id}-brk-min`, t('adm.break_minutes', { day }), h('input', { id: `${id}-brk-min`, type: 'number', min: 1, inputmode: 'numeric', value: s?.break?.minutes ?? '', dataset: { part: 'brk-min' } })),
      more);
    more.addEventListener('click', () => {
      const rowsOfDay = shiftBox.querySelectorAll(`.shift[data-day="${d}"]`);
      const next = shiftRow(d, null, rowsOfDay.length);
      rowsOfDay[rowsOfDay.length - 1].after(next);
      next.querySelector('input').focus();
    });
    return row;
  };
  for (const d of [1, 2, 3, 4, 5, 6, 0]) {
    const mine = (x?.shifts || []).filter((s) => s.weekday === d).sort((a, b) => a.start.localeCompare(b.start));
    (mine.length ? mine : [null]).forEach((s, k) => shiftBox.append(shiftRow(d, s, k)));
  }
  f.append(
    h('div', { class: 'row' },
      field('tf-name', t('adm.name'), input('tf-name', 'name', x?.name, { required: true, maxlength: 200 })),
      field('tf-phone', t('adm.phone'), input('tf-phone', 'phone', x?.phone, { type: 'tel', maxlength: 30 }))),
    h('div', { class: 'row' },
      field('tf-skills', t('adm.skills'), input('tf-skills', 'skills', (x?.skills || []).join(', '))),
      field('tf-user', t('adm.user_id'), input('tf-user', 'user_id', x?.user_id || '', { type: 'number', min: 1, inputmode: 'numeric' }))),
    h('div', { class: 'row' },
      field('tf-lat', t('adm.home_lat'), input('tf-lat', 'lat', x?.home?.lat, { type: 'number', step: 'any', field: 'home.lat' })),
      field('tf-lon', t('adm.home_lon'), input('tf-lon', 'lon', x?.home?.lon, { type: 'number', step: 'any', field: 'home.lon' }))),
    h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: 'active', id: 'tf-active', checked: x ? x.active : true, dataset: { field: 'active' } }), t('adm.tech_active')),
    h('fieldset', { class: 'field-group', dataset: { field: 'shifts' } }, h('legend', {}, t('adm.shifts')), shiftBox),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    stale,
    h('button', { type: 'submit', class: 'primary', id: 'tech-save' }, t('adm.save')));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(f);
    stale.hidden = true;
    const el = f.elements;
    const shifts = [];
    for (const row of f.querySelectorAll('.shift')) {
      const d = Number(row.dataset.day);
      const part = (p) => row.querySelector(`[data-part="${p}"]`);
      const [s, e, bs, be, bm] = ['start', 'end', 'brk-start', 'brk-end', 'brk-min'].map(part);
      // The API names shifts by their index in the list sent: label the inputs to match.
      const i = shifts.length;
      const marks = [[row, `shifts[${i}]`], [s, `shifts[${i}].start`], [e, `shifts[${i}].end`], [bs, `shifts[${i}].break`], [bm, `shifts[${i}].break.minutes`]];
      for (const [el, name] of marks) delete el.dataset.field;
      if (!(s.value || e.value || bs.value || be.value || bm.value)) continue;
      for (const [el, name] of marks) el.dataset.field = name;
      const sh = { weekday: d, start: s.value, end: e.value };
      if (bs.value || be.value || bm.value) sh.break = { start: bs.value, end: be.value, minutes: bm.value === '' ? 0 : Number(bm.value) };
      shifts.push(sh);
    }
    const body = {
      name: el.name.value.trim(), phone: el.phone.value.trim(),
      skills: el.skills.value.split(',').map((s) => s.trim()).filter(Boolean),
      home: { lat: Number(el.lat.value), lon: Number(el.lon.value) },
      shifts, active: el.active.checked,
    };
    if (el.user_id.value) body.user_id = Number(el.user_id.value);
    else if (x?.user_id) body.user_id = 0; // emptied: the account is unlinked
    let first = null;
    if (!body.name) first = fieldError(f, 'name', t('adm.field.name'));
    if (el.lat.value === '' && !first) first = fieldError(f, 'home.lat', t('adm.field.lat'));
    if (el.lon.value === '' && !first) first = fieldError(f, 'home.lon', t('adm.field.lon'));
    if (first) { first.focus(); return; }
    busy(f, async () => {
      try {
        const got = x ? await api('PATCH', `/api/technicians/${x.id}`, { ...body, version: x.version })
          : await api('POST', '/api/technicians', body);
        // Saved is said once the form is drawn again, so nothing typed after it is lost.
        await loadTechs(got.id || x?.id);
        flash(t('adm.saved'));
      } catch (err) {
        if (err instanceof ApiError && err.code === 'stale_version') {
          let theirs;
          try { theirs = await api('GET', `/api/technicians/${x.id}`); } catch (e) { refuse(f, e); return; }
          staleChoice(stale, 'tech', () => { x.version = theirs.version; f.requestSubmit(); }, () => loadTechs(x.id));
          return;
        }
        refuse(f, err);
      }
    });
  });
  return f;
}

function exceptions(x) {
  const list = h('ul', { class: 'plain', id: 'exc-list' });
  const f = h('form', { class: 'form', id: 'exc-form', novalidate: true },
    h('h3', {}, t('adm.exceptions')), list,
    h('div', { class: 'row' },
      field('ex-start', t('adm.exc_start'), h('input', { id: 'ex-start', name: 'start', type: 'datetime-local', required: true, dataset: { field: 'start' } })),
      field('ex-end', t('adm.exc_end'), h('input', { id: 'ex-end', name: 'end', type: 'datetime-local', required: true, dataset: { field: 'end' } })),
      field('ex-reason', t('adm.exc_reason'), h('select', { id: 'ex-reason', name: 'reason', dataset: { field: 'reason' } }, REASONS.map((r) => h('option', { value: r }, t('adm.exc.' + r)))))),
    field('ex-note', t('adm.exc_note'), h('input', { id: 'ex-note', name: 'note', maxlength: 1000, dataset: { field: 'note' } })),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('button', { type: 'submit' }, t('adm.exc_add')));
  const until = new Date(Date.now() + 60 * 864e5).toISOString().slice(0, 10);
  (async () => {
    try {
      const r = await api('GET', `/api/technicians/${x.id}/exceptions?from=${today()}&to=${until}`);
      const es = r.exceptions || r.items || [];
      list.replaceChildren(...(es.length ? es.map((e) => h('li', {}, `${dateTime(e.start)} – ${dateTime(e.end)} · ${t('adm.exc.' + e.reason)}`, e.note ? ' · ' : '', e.note ? h('span', { class: 'user-text' }, e.note) : ''))
        : [h('li', { class: 'muted' }, t('adm.exc_none'))]));
    } catch (err) { list.replaceChildren(h('li', { class: 'form-error' }, say(err))); }
  })();
  // datetime-local has no zone: the business zone's offset at that instant is added.
  const instant = (v) => v ? `${v}:00${zoneOffset(new Date(v + 'Z'))}` : '';
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const el = f.elements;
    if (!el.start.value) { fieldError(f, 'start', t('adm.field.start')).focus(); return; }
    if (!el.end.value || el.end.value <= el.start.value) { fieldError(f, 'end', t('adm.field.end')).focus(); return; }
    busy(f, async () => {
      try {
        const r = await api('POST', `/api/technicians/${x.id}/exceptions`, { start: instant(el.start.value), end: instant(el.end.value), reason: el.reason.value, note: el.note.value.trim() });
        // The server re-planned the days of his visits in the span: say what became of them.
        const moved = r.moved?.length ?? 0, unbooked = r.unbooked?.length ?? 0, kept = r.kept?.length ?? 0;
        flash(moved + unbooked + kept ? t('adm.exc_replanned', { moved, unbooked, kept }) : t('adm.exc_added'));
        // Only the list is drawn again: what is typed in his form above is not saved yet.
        f.replaceWith(exceptions(x));
      } catch (err) { refuse(f, err); }
    });
  });
  return f;
}

// ---- SLA policies ----

const slaEdit = document.getElementById('sla-edit');

// target is the editor of one target T: null | {basis, minutes} | {basis: business_days, days}.
function target(prefix, what, value) {
  const id = prefix.replace(/[^a-z0-9]+/gi, '-');
  const basis = h('select', { id: id + '-basis', 'aria-label': t('adm.basis', { what }), dataset: { field: prefix + '.basis' } },
    ['none', 'wall_clock', 'business_time', 'business_days'].map((b) => h('option', { value: b, selected: (value?.basis || 'none') === b }, t('adm.basis.' + b))));
  const amount = h('input', { id: id + '-amount', type: 'number', min: 1, inputmode: 'numeric', 'aria-label': t('adm.amount', { what }),
    value: value ? (value.basis === 'business_days' ? value.days : value.minutes) : '' });
  const sync = () => {
    amount.disabled = basis.value === 'none';
    amount.dataset.field = prefix + (basis.value === 'business_days' ? '.days' : '.minutes');
  };
  basis.addEventListener('change', sync);
  sync();
  const box = h('div', { class: 'target' }, basis, amount);
  box.read = () => {
    if (basis.value === 'none') return null;
    const n = amount.value === '' ? 0 : Number(amount.value);
    return basis.value === 'business_days' ? { basis: basis.value, days: n } : { basis: basis.value, minutes: n };
  };
  return box;
}

async function loadSLA() {
  let doc;
  try {
    doc = await api('GET', '/api/sla/policies');
  } catch (err) {
    slaEdit.replaceChildren(h('p', { class: err.status === 404 ? 'muted' : 'form-error' }, err.status === 404 ? t('adm.unavailable') : say(err)));
    return;
  }
  const f = h('form', { class: 'form', id: 'sla-form', novalidate: true });
  // The version read: a save over another admin's newer one is refused (409 stale_version)
  // instead of undoing it unseen.
  let version = doc.version;
  const def = { fr: target('default.first_response', t('adm.first_response'), doc.default?.first_response),
    res: target('default.resolution', t('adm.resolution'), doc.default?.resolution) };
  const tbody = h('tbody', {});
  const rules = [];
  function ruleRow(r) {
    const i = rules.length;
    const kind = h('select', { 'aria-label': t('adm.kind') }, h('option', { value: '' }, t('adm.any')), KINDS.map((k) => h('option', { value: k, selected: r.kind === k }, t('kind.' + k))));
    const prio = h('select', { 'aria-label': t('adm.priority') }, h('option', { value: '' }, t('adm.any')), PRIORITIES.map((p) => h('option', { value: p, selected: r.priority === p }, t('adm.priority.' + p))));
    const rule = { kind, prio, fr: null, res: null, tr: null };
    rule.fr = target(`rules[${i}].first_response`, t('adm.first_response'), r.first_response);
    rule.res = target(`rules[${i}].resolution`, t('adm.resolution'), r.resolution);
    const rm = h('button', { type: 'button', class: 'link' }, '✕');
    rule.tr = h('tr', {}, h('th', { scope: 'row' }), h('td', {}, kind), h('td', {}, prio), h('td', {}, rule.fr), h('td', {}, rule.res), h('td', {}, rm));
    rm.addEventListener('click', () => { rules.splice(rules.indexOf(rule), 1); rule.tr.remove(); renumber(); });
    rules.push(rule);
    tbody.append(rule.tr);
  }
  // renumber keeps the labels and the field names in step with the rules' order, which is
  // how the API names a bad value (rules[2].priority).
  function renumber() {
    rules.forEach((r, i) => {
      r.tr.firstChild.textContent = String(i + 1);
      r.kind.dataset.field = `rules[${i}].kind`;
      r.prio.dataset.field = `rules[${i}].priority`;
      r.kind.setAttribute('aria-label', t('adm.rule_n', { n: i + 1 }) + ': ' + t('adm.kind'));
      r.prio.setAttribute('aria-label', t('adm.rule_n', { n: i + 1 }) + ': ' + t('adm.priority'));
      r.tr.lastChild.firstChild.setAttribute('aria-label', t('adm.remove_rule', { n: i + 1 }));
      for (const [k, box] of [['first_response', r.fr], ['resolution', r.res]]) {
        const [b, a] = box.children;
        b.dataset.field = `rules[${i}].${k}.basis`;
        a.dataset.field = `rules[${i}].${k}` + (b.value === 'business_days' ? '.days' : '.minutes');
        b.onchange = () => { a.dataset.field = `rules[${i}].${k}` + (b.value === 'business_days' ? '.days' : '.minutes'); };
      }
    });
  }
  for (const r of doc.rules || []) ruleRow(r);
  renumber();
  const add = h('button', { type: 'button', id: 'rule-add' }, t('adm.add_rule'));
  const stale = h('div', { class: 'form-error', id: 'sla-stale', role: 'alert', hidden: true });
  add.addEventListener('click', () => { ruleRow({}); renumber(); rules.at(-1).kind.focus(); });
  f.append(
    h('fieldset', { class: 'field-group', dataset: { field: 'default' } }, h('legend', {}, t('adm.sla_default')),
      h('div', { class: 'row' }, h('div', { class: 'field' }, h('span', { class: 'label' }, t('adm.first_response')), def.fr),
        h('div', { class: 'field' }, h('span', { class: 'label' }, t('adm.resolution')), def.res))),
    h('h3', {}, t('adm.sla_rules')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', dataset: { field: 'rules' } },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, t('adm.kind')), h('th', { scope: 'col' }, t('adm.priority')),
        h('th', { scope: 'col' }, t('adm.first_response')), h('th', { scope: 'col' }, t('adm.resolution')), h('th', { scope: 'col' }, ''))), tbody)),
    add,
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    stale,
    h('button', { type: 'submit', class: 'primary', id: 'sla-save' }, t('adm.sla_save')));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(f);
    stale.hidden = true;
    const body = {
      version,
      default: { first_response: def.fr.read(), resolution: def.res.read() },
      rules: rules.map((r) => {
        const o = { first_response: r.fr.read(), resolution: r.res.read() };
        if (r.kind.value) o.kind = r.kind.value;
        if (r.prio.value) o.priority = r.prio.value;
        return o;
      }),
    };
    busy(f, async () => {
      try {
        version = (await api('PUT', '/api/sla/policies', body)).version;
        flash(t('adm.saved'));
      } catch (err) {
        if (err instanceof ApiError && err.code === 'stale_version') {
          let theirs;
          try { theirs = await api('GET', '/api/sla/policies'); } catch (e) { refuse(f, e); return; }
          staleChoice(stale, 'sla', () => { version = theirs.version; f.requestSubmit(); }, () => loadSLA());
          return;
        }
        refuse(f, err);
      }
    });
  });
  slaEdit.replaceChildren(f);
}

// ---- SMS templates ----

const smsEdit = document.getElementById('sms-edit');

async function loadSMS() {
  let list;
  try {
    list = (await api('GET', '/api/sms/templates')).templates || [];
  } catch (err) {
    smsEdit.replaceChildren(h('p', { class: err.status === 503 ? 'muted' : 'form-error' }, err.status === 503 ? t('adm.unavailable') : say(err)));
    return;
  }
  smsEdit.replaceChildren(...list.map(smsForm));
}

// smsRefusal says why the API refused a template, in the page's language: the unknown
// value or function by name, a value these texts do not carry (it would arrive empty) or
// may lack (outside an {{if}}), what templates may not use (loops, printf…) by name, a
// syntax slip, a text too long or empty with sample data.
function smsRefusal(err) {
  if (!(err instanceof ApiError) || err.field !== 'body') return say(err);
  const m = err.message || '';
  let x = /can't evaluate field (\w+)/.exec(m) || /map has no entry for key "?(\w+)/.exec(m);
  if (x) return t('adm.sms.unknown', { name: '{{.' + x[1] + '}}' });
  if ((x = /function "(\w+)" not defined/.exec(m))) return t('adm.sms.unknown_func', { name: x[1] });
  if ((x = /^(\{\{\.\w+\}\}) is not known when .* these texts carry (.*)$/.exec(m))) return t('adm.sms.not_carried', { name: x[1], list: x[2] });
  if ((x = /^\{\{\.(\w+)\}\} may be empty/.exec(m))) return t('adm.sms.unguarded', { name: x[1] });
  if ((x = /^(\{\{\.\w+\}\}) is missing/.exec(m))) return t('adm.sms.missing', { name: x[1] });
  if ((x = /^(?:function )?(.*?) (?:is|are) not allowed in a text template/.exec(m))) return t('adm.sms.not_allowed', { name: x[1] });
  if (/longer than 1600/.test(m)) return t('adm.sms.too_long');
  if (/renders to an empty text/.test(m)) return t('adm.sms.empty');
  if (/does not parse/.test(m)) return t('adm.sms.syntax');
  return say(err);
}

// placeholders lists the values ({{.Folio}}…) a template body uses, in order, once each.
const placeholders = (body) => [...new Set([...(body || '').matchAll(/\.([A-Z]\w*)/g)].map((x) => '{{.' + x[1] + '}}'))];

function smsForm(tp) {
  const id = `sms-${tp.kind}-${tp.language}`.replace(/[^a-z0-9-]/gi, '-');
  // The values these texts carry (the API lists them); else those the default uses.
  const vals = tp.values ? tp.values.map((v) => '{{.' + v + '}}') : placeholders(tp.default);
  const hint = vals.length ? h('p', { class: 'muted small', id: id + '-hint' }, t(tp.values ? 'adm.sms.carried' : 'adm.sms.values', { list: vals.join(' ') })) : '';
  const area = h('textarea', { id, name: 'body', rows: 3, maxlength: 2000, dataset: { field: 'body' }, 'aria-describedby': hint ? id + '-hint' : undefined }, tp.body);
  const sample = h('p', { class: 'muted small user-text' }, t('adm.sms_sample', { text: tp.sample || '' }), ' · ', t('adm.sms_segments', { n: tp.segments ?? '?' }));
  const restore = h('button', { type: 'button', disabled: !tp.custom }, t('adm.sms_restore'));
  const f = h('form', { class: 'form sms-tpl', novalidate: true, dataset: { kind: tp.kind, lang: tp.language } },
    h('div', { class: 'field' }, h('label', { for: id }, `${tp.kind} · ${tp.language}`, tp.custom ? ' (' + t('adm.sms_custom') + ')' : ''), area, hint),
    // A template saved before templates had to show what their text is for: the default
    // goes in its place, and the admin is told why.
    tp.lacks ? h('p', { class: 'chip bad sms-lacks' }, t('adm.sms.lacks', { name: '{{.' + tp.lacks + '}}' })) : '', sample,
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('adm.save')), restore));
  const put = (text) => busy(f, async () => {
    clearErrors(f);
    try {
      const got = await api('PUT', `/api/sms/templates/${encodeURIComponent(tp.kind)}/${encodeURIComponent(tp.language)}`, { body: text });
      flash(t(text ? 'adm.saved' : 'adm.sms.restored'));
      const next = smsForm(got);
      f.replaceWith(next);
      next.querySelector('textarea').focus();
    } catch (err) { showError(f, err, smsRefusal(err)); }
  });
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(f);
    // The API reads an empty text as "restore the default": Save asks for a text instead,
    // and Restore says what it does.
    if (!area.value.trim()) { fieldError(f, 'body', t('adm.sms.empty_save')).focus(); return; }
    put(area.value);
  });
  restore.addEventListener('click', () => put(''));
  return f;
}

// ---- Business calendar ----

const calEdit = document.getElementById('cal-edit');
// The weekdays as the API names them, Monday first, with their number for adm.day.N.
const WEEK = [['monday', 1], ['tuesday', 2], ['wednesday', 3], ['thursday', 4], ['friday', 5], ['saturday', 6], ['sunday', 0]];

// openings is the editor of one day's openings [{open, close}], named prefix in the API's
// errors (week.monday, exceptions[2].hours): a row per opening (HH:MM to HH:MM), "+" adds
// one, "✕" takes one away, no row is a day closed. Times are typed as text: 24:00 (the end
// of the day) cannot be held by a time input, and what the server refuses is shown beside it.
function openings(prefix, what, list) {
  const rows = h('div', { class: 'opening-rows' });
  const closed = h('span', { class: 'muted closed-note' }, t('adm.cal.closed_day'));
  const add = h('button', { type: 'button', class: 'link', 'aria-label': t('adm.cal.add_opening', { what }) }, '+ ' + t('adm.cal.opening'));
  const box = h('div', { class: 'openings' }, rows, closed, add);
  const time = (value, part) => h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', maxlength: 5, placeholder: part === 'open' ? '09:00' : '18:00',
    class: 'hhmm', value: value || '', dataset: { part } });
  const row = (o) => {
    const r = h('div', { class: 'opening' }, time(o?.open, 'open'), h('span', { 'aria-hidden': 'true' }, '–'), time(o?.close, 'close'),
      h('button', { type: 'button', class: 'link remove' }, '✕'));
    r.querySelector('.remove').addEventListener('click', () => { r.remove(); box.renumber(); });
    rows.append(r);
    return r;
  };
  box.renumber = (p = prefix) => {
    prefix = p;
    box.dataset.field = prefix;
    [...rows.children].forEach((r, k) => {
      const [o, c] = r.querySelectorAll('input');
      r.dataset.field = `${prefix}[${k}]`;
      o.dataset.field = `${prefix}[${k}].open`;
      c.dataset.field = `${prefix}[${k}].close`;
      o.setAttribute('aria-label', t('adm.cal.opens', { what, n: k + 1 }));
      c.setAttribute('aria-label', t('adm.cal.closes', { what, n: k + 1 }));
      r.querySelector('.remove').setAttribute('aria-label', t('adm.cal.remove_opening', { what, n: k + 1 }));
    });
    closed.hidden = rows.children.length > 0;
  };
  box.read = () => [...rows.children].map((r) => {
    const [o, c] = r.querySelectorAll('input');
    return { open: o.value.trim(), close: c.value.trim() };
  });
  box.add = () => { const r = row(null); box.renumber(); r.querySelector('input').focus(); };
  add.addEventListener('click', box.add);
  (list || []).forEach(row);
  box.renumber();
  return box;
}

// calSay is what to tell the admin about a refused calendar, beside the field it names.
function calSay(err) {
  if (!(err instanceof ApiError) || !err.field) return say(err);
  const f = err.field;
  if (/\[\d+\]$/.test(f)) return t('adm.cal.overlap'); // week.monday[1], exceptions[0].hours[1]
  if (/^week\.\w+$/.test(f)) return t('adm.cal.too_many_openings');
  if (/\.open$/.test(f)) return t('adm.cal.open');
  if (/\.close$/.test(f)) return t('adm.cal.close');
  if (f === 'week') return t('adm.cal.week_closed');
  if (f === 'exceptions') return t('adm.cal.too_many_dates');
  if (/\.date$/.test(f)) return t(/repeats/.test(err.message) ? 'adm.cal.date_twice' : 'adm.cal.date');
  if (/\.name$/.test(f)) return t('adm.cal.name');
  if (/\.hours$/.test(f)) return t('adm.cal.hours');
  return say(err);
}

// dayName formats YYYY-MM-DD as a long date (the zone's noon falls on that date everywhere).
const dayName = (d) => date(d + 'T18:00:00Z');

// loadCalendar draws the calendar form from the stored calendar: the weekly hours, the
// exceptions, and the closures of the year chosen. A save names the version read; one over
// another admin's newer save is refused (stale_version) and the page says so, keeping what
// was typed: the admin may then save his over the other's, or load the other's.
async function loadCalendar() {
  let cal;
  const thisYear = Number(today().slice(0, 4));
  try {
    cal = await api('GET', '/api/calendar?year=' + thisYear);
  } catch (err) {
    calEdit.replaceChildren(h('p', { class: 'form-error' }, say(err)));
    return;
  }
  let version = cal.version;
  const f = h('form', { class: 'form', id: 'cal-form', novalidate: true });
  const days = {};
  const week = h('fieldset', { class: 'field-group', dataset: { field: 'week' } }, h('legend', {}, t('adm.cal.week')));
  for (const [name, n] of WEEK) {
    const day = t('adm.day.' + n);
    days[name] = openings('week.' + name, day, cal.week?.[name]);
    week.append(h('div', { class: 'row cal-day', dataset: { day: name } }, h('span', { class: 'label day' }, day), days[name]));
  }

  // The exceptions: date, name, closed all day or special hours.
  const tbody = h('tbody', {});
  const excs = [];
  function excRow(e) {
    const x = { tr: null };
    x.date = h('input', { type: 'date', value: e.date || '', required: true, min: '2000-01-01', max: '2199-12-31' });
    x.name = h('input', { type: 'text', value: e.name || '', maxlength: 100, autocomplete: 'off' });
    x.kind = h('select', {}, h('option', { value: 'closed', selected: e.closed !== false }, t('adm.cal.closed_all_day')),
      h('option', { value: 'hours', selected: e.closed === false }, t('adm.cal.special_hours')));
    x.hours = openings('exceptions[0].hours', e.name || t('adm.cal.date_label'), e.closed === false ? e.hours : []);
    x.rm = h('button', { type: 'button', class: 'link' }, '✕');
    const sync = () => { x.hours.hidden = x.kind.value !== 'hours'; };
    x.kind.addEventListener('change', () => {
      sync();
      if (x.kind.value === 'hours' && !x.hours.read().length) x.hours.add();
    });
    sync();
    x.tr = h('tr', { class: 'cal-exc' }, h('td', {}, x.date), h('td', {}, x.name), h('td', {}, x.kind), h('td', {}, x.hours), h('td', {}, x.rm));
    x.rm.addEventListener('click', () => { excs.splice(excs.indexOf(x), 1); x.tr.remove(); renumber(); });
    excs.push(x);
    tbody.append(x.tr);
    return x;
  }
  // renumber keeps the field names in step with the order the exceptions are sent in, which
  // is how the API names a bad value (exceptions[2].date).
  function renumber() {
    excs.forEach((x, i) => {
      x.tr.dataset.field = `exceptions[${i}]`;
      x.date.dataset.field = `exceptions[${i}].date`;
      x.name.dataset.field = `exceptions[${i}].name`;
      x.kind.dataset.field = `exceptions[${i}].closed`;
      x.hours.renumber(`exceptions[${i}].hours`);
      x.date.id = `cal-exc-${i}-date`;
      x.name.id = `cal-exc-${i}-name`;
      x.kind.id = `cal-exc-${i}-kind`;
      x.date.setAttribute('aria-label', t('adm.cal.exc_n', { n: i + 1 }) + ': ' + t('adm.cal.date_label'));
      x.name.setAttribute('aria-label', t('adm.cal.exc_n', { n: i + 1 }) + ': ' + t('adm.cal.name_label'));
      x.kind.setAttribute('aria-label', t('adm.cal.exc_n', { n: i + 1 }) + ': ' + t('adm.cal.kind_label'));
      x.rm.setAttribute('aria-label', t('adm.cal.remove_exc', { n: i + 1 }));
    });
    none.hidden = excs.length > 0;
  }
  const none = h('p', { class: 'muted' }, t('adm.cal.no_exceptions'));
  for (const e of cal.exceptions || []) excRow(e);
  const add = h('button', { type: 'button', id: 'cal-exc-add' }, t('adm.cal.add_exception'));
  // addException adds (or, for a date already listed, finds) the row of date and focuses it.
  const addException = (e) => {
    const found = e.date && excs.find((x) => x.date.value === e.date);
    const x = found || excRow(e);
    renumber();
    (found ? x.name : e.date ? x.name : x.date).focus();
  };
  add.addEventListener('click', () => addException({}));
  renumber();

  // The closures of a year, as stored: what the page's last load or save says.
  const closures = h('ul', { class: 'plain cal-closures', id: 'cal-closures' });
  const yearPick = h('select', { id: 'cal-year', 'aria-label': t('adm.cal.year') },
    [thisYear - 1, thisYear, thisYear + 1, thisYear + 2].map((y) => h('option', { value: y, selected: y === cal.year }, String(y))));
  const showClosures = (c) => {
    closures.replaceChildren(...(c.closures.length ? c.closures.map((cl) => {
      const statutory = cl.source === 'statutory';
      const change = statutory ? h('button', { type: 'button', class: 'link', 'aria-label': t('adm.cal.override_of', { name: cl.name, date: dayName(cl.date) }) }, t('adm.cal.override')) : '';
      if (change) {
        change.addEventListener('click', () => {
          const wd = WEEK.find(([, n]) => n === new Date(cl.date + 'T12:00:00Z').getUTCDay())[0];
          const usual = days[wd].read().filter((o) => o.open && o.close);
          addException({ date: cl.date, name: cl.name, closed: usual.length === 0, hours: usual });
        });
      }
      return h('li', { dataset: { date: cl.date, source: cl.source } },
        h('span', { class: 'label' }, dayName(cl.date)), ' · ', h('span', { class: 'user-text' }, cl.name), ' ',
        h('span', { class: 'chip' }, t(statutory ? 'adm.cal.statutory' : 'adm.cal.exception')),
        cl.closed ? ' ' + t('adm.cal.closed_all_day') : ' ' + t('adm.cal.open_only', { hours: (cl.hours || []).map((o) => `${o.open}–${o.close}`).join(', ') }),
        cl.replaces ? ' ' + t('adm.cal.replaces', { name: cl.replaces }) : '', ' ', change);
    }) : [h('li', { class: 'muted' }, t('adm.cal.no_closures'))]));
  };
  showClosures(cal);
  yearPick.addEventListener('change', async () => {
    try {
      // Only the list is drawn again: what is typed in the form is not saved yet.
      showClosures(await api('GET', '/api/calendar?year=' + yearPick.value));
    } catch (err) { closures.replaceChildren(h('li', { class: 'form-error' }, say(err))); }
  });

  const stale = h('div', { class: 'form-error', id: 'cal-stale', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'primary', id: 'cal-save' }, t('adm.cal.save'));
  f.append(
    h('p', { class: 'muted small' }, t('adm.cal.zone', { zone: cal.time_zone })),
    week,
    h('h3', {}, t('adm.cal.exceptions')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', dataset: { field: 'exceptions' } },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('adm.cal.date_label')), h('th', { scope: 'col' }, t('adm.cal.name_label')),
        h('th', { scope: 'col' }, t('adm.cal.kind_label')), h('th', { scope: 'col' }, t('adm.cal.hours_label')), h('th', { scope: 'col' }, ''))), tbody)),
    none, add,
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    stale,
    save);
  const body = () => ({
    version,
    week: Object.fromEntries(WEEK.map(([name]) => [name, days[name].read()])),
    exceptions: excs.map((x) => {
      const e = { date: x.date.value, name: x.name.value.trim(), closed: x.kind.value === 'closed' };
      if (!e.closed) e.hours = x.hours.read();
      return e;
    }),
  });
  const send = () => busy(f, async () => {
    clearErrors(f);
    stale.hidden = true;
    try {
      const got = await api('PUT', '/api/calendar?year=' + yearPick.value, body());
      version = got.version;
      showClosures(got);
      flash(t('adm.saved'));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'stale_version') {
        // Another admin saved meanwhile. What was typed stays: the admin chooses.
        let theirs;
        try { theirs = await api('GET', '/api/calendar?year=' + yearPick.value); } catch (e) { refuse(f, e); return; }
        showClosures(theirs);
        staleChoice(stale, 'cal', () => { version = theirs.version; send(); }, () => loadCalendar());
        return;
      }
      showError(f, err, calSay(err));
    }
  });
  f.addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
  calEdit.replaceChildren(f,
    h('h3', {}, t('adm.cal.closures')),
    h('div', { class: 'field narrow-field' }, h('label', { for: 'cal-year' }, t('adm.cal.year')), yearPick),
    h('p', { class: 'muted small' }, t('adm.cal.closures_hint')),
    closures);
}

loadUsers();
loadTechs();
loadSLA();
loadCalendar();
loadSMS();
