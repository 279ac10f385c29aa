// board.js: the dispatcher's board. One time line per technician with the day's visits as
// blocks (colour = status; amber / red border = the report's resolution deadline at risk /
// missed, "!" = late for the promised window; dashed box = promised window), the queue
// of visits without technician and of visits whose customer asked for another time (an
// SMS reply "2": booked, assigned or not completed, until a new window is booked or the
// request is cleared), an SVG map, drag (or the detail's "assign to") to move a
// visit, pin/unpin, optimise, a folio's detail with its timeline, open incidents on the map
// (their access point's customers: filled red = reported, hollow = affected), and live updates.
import { api, h, svg, t, lang, zone, date, time, dateTime, today, zoneOffset, message, reason, ApiError } from './core.js';
import { live } from './live.js';
import { timeline, eventLabel, actorName, tr } from './timeline.js';

const root = document.getElementById('board');
// control: the user may move, pin and optimise (a dispatcher or an admin); an agent sees the
// board and books windows, and is offered nothing the API would refuse him.
const control = root.dataset.control === 'true';
const dayInput = document.getElementById('day');
const lanesEl = document.getElementById('lanes');
const scaleEl = document.getElementById('scale');
const queueEl = document.getElementById('queue');
const mapEl = document.getElementById('map');
const activityEl = document.getElementById('activity');
const msgEl = document.getElementById('board-msg');
const liveEl = document.getElementById('live-state');
const detail = document.getElementById('detail');
const detailBody = document.getElementById('detail-body');

const FIRST_HOUR = 7, LAST_HOUR = 21;
// STALE_AFTER_S is the age (seconds) past which a technician's position is drawn faded with
// its age: his phone shares at most once a minute on shift, so ten minutes is nine reports
// or so missed in a row — more than a stretch of poor signal — and the dot is no longer
// where he is, only where he was.
const STALE_AFTER_S = 10 * 60;
const palette = ['#0969da', '#8250df', '#bf3989', '#1a7f37', '#bc4c00', '#0a7ea4', '#6639ba', '#9a6700'];
let techs = [];
let plan = { routes: [], unassigned: [] };
let queue = []; // visits that need a window, a technician or another time, most pressing first
const visits = new Map(); // id → visit, for drops and the detail
let incidents = []; // open incidents, each with the customers it affects (GET /api/incidents/{id}/customers)
let loading = null;
let again = false;

const params = new URLSearchParams(location.search);
dayInput.value = root.dataset.day || params.get('day') || today();

const dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
const dayOf = (iso) => dayFmt.format(new Date(iso)); // YYYY-MM-DD in the business zone

function flash(text, bad) {
  msgEl.textContent = text;
  msgEl.className = 'flash' + (bad ? ' bad' : '');
  msgEl.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { msgEl.hidden = true; }, bad ? 12000 : 5000);
}

// refusal explains an API refusal in the page's language, with the API's reason.
function refusal(err) {
  if (err instanceof ApiError && err.status === 422 && err.field === 'technician_id') {
    const skill = /lacks the skill "([^"]*)"/.exec(err.message);
    const why = skill ? t('code.lacks_skill', { skill: tr('skill.', skill[1]) }) : /not active/.test(err.message) ? t('code.inactive') : reason(err);
    return t('err.refused', { reason: why });
  }
  if (err instanceof ApiError && err.status === 409) {
    if (err.code === 'stale_version') return t('err.stale');
    return t('err.refused', { reason: visitReason(err) });
  }
  return message(err);
}

// visitReason is reason(err) said of a visit, where the code has a text for it (the board
// moves visits: an illegal move is the visit's).
function visitReason(err) {
  const k = 'code.' + err.code + '.visit';
  return t(k) === k ? reason(err) : t(k);
}

function dayBounds() {
  const d = dayInput.value;
  const off = zoneOffset(new Date(d + 'T12:00:00Z'));
  const pad = (n) => String(n).padStart(2, '0');
  return {
    start: Date.parse(`${d}T${pad(FIRST_HOUR)}:00:00${off}`),
    end: Date.parse(`${d}T${pad(LAST_HOUR)}:00:00${off}`),
  };
}

function pct(iso, b) {
  const x = (Date.parse(iso) - b.start) / (b.end - b.start);
  return Math.max(0, Math.min(1, x)) * 100;
}

async function load() {
  if (loading) { again = true; return loading; }
  loading = (async () => {
    try {
      const day = encodeURIComponent(dayInput.value);
      // The queues are extra: a failure there still shows the day's plan.
      const [tl, p, unscheduled, ofDay, asked, rebook, missedList, open] = await Promise.all([
        api('GET', '/api/technicians?active=true'),
        api('GET', '/api/plans/' + day),
        listAll('status=unscheduled'),
        listAll('day=' + day),
        listAll('reschedule_requested=true'),
        listAll('to_rebook=true'),
        listAll('missed=true'),
        openIncidents(),
      ]);
      incidents = open;
      techs = (tl.technicians || []).slice().sort((a, b) => a.name.localeCompare(b.name, lang));
      plan = { routes: p.routes || [], unassigned: p.unassigned || [] };
      // The list carries each report's deadline (report_due_at, report_sla_state) and the
      // customer's pending request for another time (reschedule_requested_at); the plan
      // does not: lend them to the plan's copies.
      const missedIDs = new Set(missedList.map((v) => v.id));
      const listed = new Map([...ofDay, ...unscheduled, ...asked, ...rebook, ...missedList].map((v) => [v.id,
        { report_due_at: v.report_due_at, report_sla_state: v.report_sla_state, reschedule_requested_at: v.reschedule_requested_at,
          missed: missedIDs.has(v.id) }]));
      const lend = (v) => Object.assign(v, listed.get(v.id) || {});
      visits.clear();
      for (const r of plan.routes) for (const v of r.visits) visits.set(v.id, lend(v));
      const waiting = new Map();
      // A customer who asked for another time waits here whatever his visit's status and
      // technician, and so does one whose visit could not be done while his report is
      // still open (he was told he would be called): someone has to call him and book it
      // again. So does one whose window went by with nobody on the way (missed): he waited
      // in vain and has to be called and booked again.
      for (const v of [...plan.unassigned.map(lend), ...ofDay.filter((x) => !x.technician_id), ...unscheduled, ...asked, ...rebook, ...missedList]) {
        if (v.status === 'cancelled' || v.status === 'completed' ||
          (v.technician_id && !v.reschedule_requested_at && !rebook.some((x) => x.id === v.id) && !missedIDs.has(v.id))) continue;
        waiting.set(v.id, { ...waiting.get(v.id), ...v, missed: missedIDs.has(v.id) });
      }
      queue = [...waiting.values()].sort(pressing);
      for (const v of queue) visits.set(v.id, v);
      render();
    } catch (err) {
      flash(message(err), true);
    } finally {
      loading = null;
      if (again) { again = false; load(); }
    }
  })();
  return loading;
}

// listAll follows a visit list's pages (at most 10 of 100). The lists are extra: a failure
// leaves them empty and the day's plan still shows.
async function listAll(q) {
  const out = [];
  try {
    let after = '';
    for (let n = 0; n < 10; n++) {
      const r = await api('GET', '/api/visits?' + q + '&limit=100' + (after ? '&after=' + encodeURIComponent(after) : ''));
      out.push(...(r.items || []));
      if (!r.next) break;
      after = r.next;
    }
  } catch { /* keep what came */ }
  return out;
}

// openIncidents returns the open incidents with the customers each affects. Extra, like
// the lists: a failure leaves the map without them.
async function openIncidents() {
  try {
    const r = await api('GET', '/api/incidents?status=open');
    return await Promise.all((r.items || []).map(async (inc) =>
      ({ ...inc, customers: (await api('GET', `/api/incidents/${inc.id}/customers`)).items || [] })));
  } catch {
    return [];
  }
}

// needsWindow: a visit that must be booked (again) before any technician can take it.
const needsWindow = (v) => v.status === 'unscheduled' || v.status === 'not_completed';
// movable: a visit the API lets a dispatcher give to another technician, move in a day or
// take off its technician (booked, not started); pinnable: one it lets him pin (planned on a
// technician's day, started or not). A finished or started visit is offered neither move.
const movable = (v) => v.status === 'booked' || v.status === 'assigned';
const pinnable = (v) => !!v.technician_id && ['booked', 'assigned', 'en_route', 'on_site'].includes(v.status);
// asks is 1 for a visit whose customer asked for another time and was not answered yet.
const asks = (v) => (v.reschedule_requested_at ? 1 : 0);
// missed is 1 for a visit whose promised window went by with nobody on the way.
const missed = (v) => (v.missed ? 1 : 0);
// rebookable: a visit the board offers a new window for (the booking dialog), on a drop
// too: one that needs a window, or whose window went by.
const rebookable = (v) => needsWindow(v) || !!missed(v);
// asksText says since when the customer asks for another time.
function asksText(v) {
  const at = v.reschedule_requested_at;
  return t('b.asks_time', { time: dayOf(at) === dayOf(new Date().toISOString()) ? time(at) : dateTime(at) });
}

const SLA_RANK = { breached: 2, at_risk: 1 };
// sla is the report's resolution deadline state of v: 'breached', 'at_risk' or ''.
const sla = (v) => (SLA_RANK[v.report_sla_state] ? v.report_sla_state : '');
const slaRank = (v) => SLA_RANK[v.report_sla_state] || 0;
// slaText says where the report's deadline stands, with the due time.
function slaText(v) {
  const s = sla(v);
  if (!s) return '';
  const due = v.report_due_at ? (dayOf(v.report_due_at) === dayInput.value ? time(v.report_due_at) : dateTime(v.report_due_at)) : '';
  return t('b.sla_' + s) + (due ? ' · ' + t(s === 'breached' ? 'b.was_due' : 'b.due', { time: due }) : '');
}

// pressing orders the queue: urgent, then the customer asking for another time, then the
// window that went by with nobody on the way, then the report's deadline missed, then at
// risk, then
// late for its window, then higher priority, then the earliest window (visits without one
// after), then the report due first (its kind and priority set that: an urgent fault is due
// in hours, a complaint in days; a report without a running deadline after), then the
// oldest.
function pressing(a, b) {
  const at = (iso) => (iso ? Date.parse(iso) : Infinity);
  return (b.urgent - a.urgent) || (asks(b) - asks(a)) || (missed(b) - missed(a)) || (slaRank(b) - slaRank(a)) || (b.at_risk - a.at_risk) || ((b.priority || 0) - (a.priority || 0)) ||
    (at(a.window?.start) - at(b.window?.start)) || (at(a.report_due_at) - at(b.report_due_at)) || (a.id - b.id);
}

// ref is what a visit is known by: its report's folio, or for a visit planned for an
// incident itself (no report, no customer) the incident's folio.
function ref(v) { return v.folio || v.incident_folio || '#' + v.id; }
// short is ref cut for a time line block: the folio's number, an incident's marked as one.
function short(v) { return v.folio ? v.folio.split('-').pop() : ref(v).replace(/^I-\d+-0*/, 'I-'); }

function block(v, b, color) {
  const start = v.planned_start || v.planned_arrival || v.window?.start;
  const end = v.planned_end || (start ? new Date(Date.parse(start) + (v.duration_min || 60) * 60000).toISOString() : null);
  if (!start) return null;
  const left = pct(start, b);
  // The bar spans the visit's real time: a wider one would run under the next visit.
  const width = Math.max(pct(end, b) - left, 0);
  // The label is fitted to the bar by fit(): the time, then the folio's number (its leading
  // zeros apart, to drop when even the number does not fit).
  const num = short(v);
  const zeros = /^0+(?=\d)/.exec(num)?.[0] || '';
  const label = [h('span', { class: 'b-time' }, time(v.planned_arrival || start)), ' ',
    h('span', { class: 'b-ref' }, zeros ? h('span', { class: 'b-zeros' }, zeros) : '', num.slice(zeros.length))];
  const desc = [t('visit.' + v.status), asks(v) ? asksText(v) : '', v.window ? t('b.window', { start: time(v.window.start), end: time(v.window.end) }) : '',
    v.planned_arrival ? t('b.arrival', { time: time(v.planned_arrival) }) : '', slaText(v), v.at_risk ? t('b.at_risk') : '', v.pinned ? t('b.pinned') : '', v.address || '']
    .filter(Boolean).join(' · ');
  const el = h('button', {
    type: 'button', class: `block s-${v.status}${v.at_risk ? ' risk' : ''}${sla(v) ? ' sla-' + sla(v) : ''}${v.pinned ? ' pinned' : ''}${asks(v) ? ' asks' : ''}`,
    draggable: String(control && movable(v)), title: desc, 'aria-label': `${ref(v)}. ${desc}`, dataset: { visit: v.id, sla: sla(v) || 'ok' },
  }, ...label);
  el.classList.add('pos');
  el.dataset.left = left.toFixed(2);
  el.dataset.width = width.toFixed(2);
  return el;
}

// place sets the geometry of positioned elements through the CSSOM (allowed by the CSP,
// unlike style attributes in the markup).
function place(container) {
  for (const el of container.querySelectorAll('[data-left]')) {
    el.style.left = el.dataset.left + '%';
    el.style.width = el.dataset.width + '%';
  }
}

// FITS are a block's labels from the fullest to the barest: time and number on one line,
// on two, on two without the number's leading zeros, that number alone, nothing (the bar's
// title and aria-label still say it all).
const FITS = ['line', 'stack', 'short', 'digits', 'bare'];

// fitLabels gives each time line block the fullest label that its bar shows whole.
function fitLabels() {
  for (const el of lanesEl.querySelectorAll('.block')) {
    for (const f of FITS) {
      el.dataset.fit = f;
      if (el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight) break;
    }
  }
}
let refit = 0;
window.addEventListener('resize', () => { cancelAnimationFrame(refit); refit = requestAnimationFrame(fitLabels); });

function render() {
  const b = dayBounds();
  const ticks = [];
  for (let hr = FIRST_HOUR; hr < LAST_HOUR; hr += 1) {
    const s = h('span', { class: hr % 2 ? 'odd' : '' }, String(hr).padStart(2, '0') + ':00');
    s.dataset.left = (((hr - FIRST_HOUR) / (LAST_HOUR - FIRST_HOUR)) * 100).toFixed(2);
    s.dataset.width = '0';
    ticks.push(s);
  }
  scaleEl.replaceChildren(h('div', {}), h('div', { class: 'scale-track' }, ticks));
  const byTech = new Map(plan.routes.map((r) => [r.technician_id, r.visits]));
  const known = new Set(techs.map((x) => x.id));
  const lanes = [];
  const all = techs.concat(plan.routes.filter((r) => !known.has(r.technician_id)).map((r) => ({ id: r.technician_id, name: '#' + r.technician_id })));
  if (!all.length) lanes.push(h('p', { class: 'muted' }, t('b.no_techs')));
  all.forEach((tech, i) => {
    const vs = byTech.get(tech.id) || [];
    const track = h('div', { class: 'track lane-drop', dataset: { tech: tech.id }, role: 'list', 'aria-label': tech.name });
    for (const v of vs) {
      if (v.window) {
        const w = h('div', { class: 'win', 'aria-hidden': 'true' });
        w.dataset.left = pct(v.window.start, b).toFixed(2);
        w.dataset.width = (pct(v.window.end, b) - pct(v.window.start, b)).toFixed(2);
        track.append(w);
      }
    }
    for (const v of vs) {
      const el = block(v, b, palette[i % palette.length]);
      if (el) track.append(h('div', { role: 'listitem' }, el));
    }
    lanes.push(h('div', { class: 'lane', dataset: { lane: tech.id } },
      h('div', { class: 'lane-name' }, tech.name, h('small', {}, t('b.visits', { n: vs.length }) + (tech.skills?.length ? ' · ' + tech.skills.map((c) => tr('skill.', c)).join(', ') : ''))),
      track));
  });
  lanesEl.replaceChildren(...lanes);
  place(scaleEl);
  place(lanesEl);
  fitLabels();
  // Positioned children of a list item: the block and window are absolute in the track.
  queueEl.replaceChildren(...(queue.length ? queue.map((v) => h('li', {
    draggable: String(control), class: [v.at_risk ? 'risk' : '', v.urgent ? 'urgent' : '', sla(v) ? 'sla-' + sla(v) : '', asks(v) ? 'asks' : '', missed(v) ? 'missed' : ''].filter(Boolean).join(' '),
    dataset: { visit: v.id, status: v.status, sla: sla(v) || 'ok', asks: asks(v) ? 'true' : 'false', missed: missed(v) ? 'true' : 'false' },
    'aria-label': [ref(v), t('visit.' + v.status), asks(v) ? asksText(v) : '', missed(v) ? t('b.missed') : '', slaText(v)].filter(Boolean).join('. '),
  }, h('span', { class: 'badge s-' + v.status }, t('visit.' + v.status)),
  h('button', { type: 'button', class: 'link', dataset: { open: v.id } }, ref(v)),
  v.customer_name ? h('span', { class: 'user-text' }, v.customer_name) : '',
  asks(v) ? h('strong', { class: 'chip asks' }, asksText(v)) : '',
  missed(v) ? h('strong', { class: 'chip bad missed' }, t('b.missed')) : '',
  v.technician_id ? h('span', { class: 'muted' }, techs.find((x) => x.id === v.technician_id)?.name || '#' + v.technician_id) : '',
  v.incident_id ? h('strong', { class: 'chip bad incident-visit' }, t('b.incident_visit')) : '',
  v.window ? (dayOf(v.window.start) === dayInput.value ? '' : date(v.window.start) + ' ') + t('b.window', { start: time(v.window.start), end: time(v.window.end) }) : h('em', {}, t('b.no_window')),
  v.urgent ? h('strong', { class: 'chip bad' }, t('b.urgent')) : '',
  v.priority ? h('span', { class: 'chip' }, t('b.priority', { n: v.priority })) : '',
  sla(v) ? h('strong', { class: 'chip sla-' + sla(v) }, slaText(v)) : '',
  v.at_risk ? h('strong', { class: 'chip bad' }, t('b.at_risk')) : '')) : [h('li', { class: 'muted' }, t('b.empty_queue'))]));
  drawMap(all);
}

function drawMap(all) {
  const pts = [];
  for (const v of visits.values()) if (v.lat || v.lon) pts.push([v.lat, v.lon]);
  for (const x of all) {
    if (x.home) pts.push([x.home.lat, x.home.lon]);
    if (x.position) pts.push([x.position.lat, x.position.lon]);
  }
  for (const inc of incidents) for (const c of inc.customers) if (c.lat != null) pts.push([c.lat, c.lon]);
  if (!pts.length) { mapEl.replaceChildren(); return; }
  let [minLat, maxLat, minLon, maxLon] = [90, -90, 180, -180];
  for (const [la, lo] of pts) { minLat = Math.min(minLat, la); maxLat = Math.max(maxLat, la); minLon = Math.min(minLon, lo); maxLon = Math.max(maxLon, lo); }
  const midLat = (minLat + maxLat) / 2, midLon = (minLon + maxLon) / 2;
  const k = Math.cos(midLat * Math.PI / 180);
  const W = 400, H = 300, pad = 20;
  // The map shows at least MIN_SPAN degrees (about a kilometre) around the middle of its
  // points: one point, or several at one spot, has bounds of no size (it was drawn in the
  // corner), and points a street apart are drawn a street apart, not at the map's edges.
  const MIN_SPAN = 0.01;
  const spanX = Math.max((maxLon - minLon) * k, MIN_SPAN), spanY = Math.max(maxLat - minLat, MIN_SPAN);
  const s = Math.min((W - 2 * pad) / spanX, (H - 2 * pad) / spanY);
  const xy = (la, lo) => [W / 2 + (lo - midLon) * k * s, H / 2 - (la - midLat) * s];
  const g = [];
  // Incidents underneath: each affected customer a red square (filled: reported), the
  // incident's folio and title by the first of them.
  for (const inc of incidents) {
    const located = inc.customers.filter((c) => c.lat != null);
    const marks = located.map((c) => {
      const [x, y] = xy(c.lat, c.lon);
      return svg('rect', { x: x - 4, y: y - 4, width: 8, height: 8, fill: c.folio ? '#b3261e' : '#fff', stroke: '#b3261e', 'stroke-width': 1.5, class: 'incident-customer', 'data-customer': c.id },
        svg('title', {}, [inc.folio, c.name, c.folio].filter(Boolean).join(' · ')));
    });
    if (located.length) {
      const [x, y] = xy(located[0].lat, located[0].lon);
      marks.push(svg('text', { x: x + 7, y: y - 6, 'font-size': 10, fill: '#b3261e', 'font-weight': 'bold' }, inc.folio));
    }
    g.push(svg('g', { class: 'incident', 'data-incident': inc.id, 'aria-label': `${inc.folio} · ${inc.title} · ${inc.access_point}` }, svg('title', {}, `${inc.folio} · ${inc.title} · ${inc.access_point}`), ...marks));
  }
  all.forEach((tech, i) => {
    const color = palette[i % palette.length];
    const route = (plan.routes.find((r) => r.technician_id === tech.id)?.visits || []);
    const line = [];
    if (tech.home) line.push(xy(tech.home.lat, tech.home.lon));
    for (const v of route) if (v.lat || v.lon) line.push(xy(v.lat, v.lon));
    if (line.length > 1) g.push(svg('polyline', { points: line.map((p) => p.map((n) => n.toFixed(1)).join(',')).join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-opacity': .8 }));
    if (tech.home) { const [x, y] = xy(tech.home.lat, tech.home.lon); g.push(svg('rect', { x: x - 5, y: y - 5, width: 10, height: 10, fill: color }, svg('title', {}, tech.name))); }
    if (tech.position) g.push(positionMark(tech, color, xy(tech.position.lat, tech.position.lon)));
    route.forEach((v, n) => {
      if (!(v.lat || v.lon)) return;
      const [x, y] = xy(v.lat, v.lon);
      g.push(svg('circle', { cx: x, cy: y, r: 6, fill: color, stroke: sla(v) === 'breached' || v.at_risk ? '#b3261e' : sla(v) ? '#bf8700' : '#fff', 'stroke-width': 2 }, svg('title', {}, [`${tech.name} · ${n + 1} · ${ref(v)}`, slaText(v)].filter(Boolean).join(' · '))));
      g.push(svg('text', { x: x + 8, y: y + 4, 'font-size': 10, fill: '#1b1f24' }, String(n + 1)));
    });
  });
  for (const v of queue) {
    if (!(v.lat || v.lon)) continue;
    const [x, y] = xy(v.lat, v.lon);
    g.push(svg('circle', { cx: x, cy: y, r: 6, fill: '#fff', stroke: sla(v) === 'breached' ? '#b3261e' : sla(v) ? '#bf8700' : '#57606a', 'stroke-width': 2 }, svg('title', {}, [ref(v), t('b.unassigned'), slaText(v)].filter(Boolean).join(' · '))));
  }
  mapEl.replaceChildren(svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('b.map') }, g));
}

// positionMark is where a technician was last seen, and when: a phone shares at most once a
// minute, and not off shift. A position older than STALE_AFTER_S is drawn faded and dashed
// (class stale) and its title says how old it is. The age is the server's (age_s, by the
// clock every other state on the board comes from), read again with the technicians each
// minute (positions()): a dot that ages past the limit while the board is open fades then.
function positionMark(tech, color, [x, y]) {
  const p = tech.position;
  const age = p.age_s || 0;
  const stale = age > STALE_AFTER_S;
  let seen = t('b.seen', { time: time(p.at) });
  if (stale) {
    // The time it was taken, with its date when that was not the server's today.
    const now = new Date(Date.parse(p.at) + age * 1000);
    seen = t('b.seen_ago', { age: ago(age), time: dayOf(p.at) === dayOf(now) ? time(p.at) : dateTime(p.at) });
  }
  return svg('circle', { cx: x, cy: y, r: 7, fill: 'none', stroke: color, 'stroke-width': 3, class: stale ? 'position stale' : 'position', 'data-position': tech.id },
    svg('title', {}, `${tech.name} · ${seen}`));
}

// ago says an age in seconds in minutes, hours and minutes, or days.
function ago(s) {
  const min = Math.floor(s / 60), hours = Math.floor(min / 60);
  if (hours < 1) return t('b.age_min', { n: min });
  if (hours < 24) return t('b.age_h', { h: hours, n: min % 60 });
  return t('b.age_d', { n: Math.floor(hours / 24) });
}

// assign gives visit id to technician techId ('' = back to the queue) with the version of
// seen, the visit as the dispatcher saw it when he chose (by default as the board shows it
// now): a detail left open while the board redrew behind it sends what it showed, so a
// colleague's change meanwhile is refused as stale instead of silently undone.
async function assign(id, techId, seen = visits.get(id)) {
  const v = seen;
  if (!v) return;
  if (rebookable(v)) { if (techId) bookDialog(v, techId); else openDetail(id); return; }
  if (String(v.technician_id || '') === String(techId || '')) return;
  try {
    if (!techId) {
      await api('POST', `/api/visits/${id}/unassign`, { version: v.version });
    } else {
      await api('POST', `/api/visits/${id}/assign`, { technician_id: Number(techId), version: v.version });
      const name = techs.find((x) => x.id === Number(techId))?.name || '#' + techId;
      flash(t('b.moved', { name }));
    }
  } catch (err) {
    flash(refusal(err), true);
  }
  await load();
}

// Drag and drop: a visit (block or queue item) onto a technician's time line or the queue.
// The visit is moved as it was when picked up, as the detail sends what it showed: the board
// may redraw under the drag (a live event), and a colleague's change meanwhile is then
// refused as stale instead of silently undone.
let picked = null;
root.addEventListener('dragstart', (ev) => {
  const el = ev.target.closest('[data-visit]');
  if (!el) return;
  if (!control) { ev.preventDefault(); return; }
  picked = visits.get(Number(el.dataset.visit)) || null;
  ev.dataTransfer.setData('text/plain', el.dataset.visit);
  ev.dataTransfer.effectAllowed = 'move';
});
root.addEventListener('dragover', (ev) => {
  const lane = ev.target.closest('.lane-drop');
  if (!lane) return;
  ev.preventDefault();
  ev.dataTransfer.dropEffect = 'move';
  lane.classList.add('over');
});
root.addEventListener('dragleave', (ev) => ev.target.closest?.('.lane-drop')?.classList.remove('over'));
root.addEventListener('drop', (ev) => {
  const lane = ev.target.closest('.lane-drop');
  if (!lane) return;
  ev.preventDefault();
  lane.classList.remove('over');
  const id = Number(ev.dataTransfer.getData('text/plain'));
  if (!id) return;
  const v = picked?.id === id ? picked : visits.get(id);
  picked = null;
  // A booked visit dropped at a time on a technician's line goes to that place in his
  // route (the API decides whether it keeps every promise); the queue takes it off him, and
  // an unscheduled or not completed one first needs a window.
  if (v && !rebookable(v) && lane.dataset.tech && lane.classList.contains('track')) {
    moveTo(v, Number(lane.dataset.tech), dropPosition(lane, id, ev.clientX));
    return;
  }
  assign(id, lane.dataset.tech, v);
});

// dropPosition is the 1-based place in the technician's route that a drop at x on his
// time line means: after every other visit of his that starts before that time.
function dropPosition(track, id, x) {
  const r = track.getBoundingClientRect();
  const b = dayBounds();
  const at = b.start + Math.max(0, Math.min(1, (x - r.left) / r.width)) * (b.end - b.start);
  const route = (plan.routes.find((rt) => rt.technician_id === Number(track.dataset.tech))?.visits || []).filter((x) => x.id !== id);
  const startOf = (x) => Date.parse(x.planned_start || x.planned_arrival || x.window?.start || 0);
  return route.filter((x) => startOf(x) < at).length + 1;
}

// moveTo puts visit v (as the board showed it) at position pos of technician techId's route.
async function moveTo(v, techId, pos) {
  try {
    await api('POST', `/api/visits/${v.id}/move`, { technician_id: techId, position: pos, version: v.version });
    const name = techs.find((x) => x.id === techId)?.name || '#' + techId;
    flash(t('b.moved_at', { name, n: pos }));
  } catch (err) {
    flash(refusal(err), true);
  }
  await load();
}
root.addEventListener('click', (ev) => {
  const el = ev.target.closest('[data-open], .block');
  if (el) openDetail(Number(el.dataset.open || el.dataset.visit));
});

// bookDialog offers the windows the plan can keep for an unscheduled visit, from the board's
// day on; once booked, the visit goes to techId when the plan chose someone else.
async function bookDialog(v, techId) {
  const name = techs.find((x) => x.id === Number(techId))?.name || '';
  const f = h('form', { class: 'form', id: 'book-form', novalidate: true },
    h('p', {}, name ? t('b.book_for', { folio: ref(v), name }) : t('b.book_for_any', { folio: ref(v) })));
  const box = h('fieldset', { class: 'slots', dataset: { field: 'start' } }, h('legend', {}, t('d.slots')));
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
  f.append(box, err, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'book-btn' }, t('d.book'))));
  detailBody.replaceChildren(h('dl', { class: 'facts' }, h('dt', {}, t('st.folio')), h('dd', { class: 'big' }, ref(v))), f);
  if (!detail.open) detail.showModal();
  const bad = (text) => { err.textContent = text; err.hidden = false; };
  async function fill() {
    box.replaceChildren(h('legend', {}, t('d.slots')));
    try {
      const slots = (await api('GET', `/api/visits/${v.id}/slots?from=${encodeURIComponent(dayInput.value)}&days=3`)).slots || [];
      if (!slots.length) box.append(h('p', {}, t('b.no_slots')));
      slots.forEach((s, i) => box.append(h('label', {},
        h('input', { type: 'radio', name: 'slot', value: i, dataset: { start: s.start, end: s.end } }),
        `${date(s.start)} ${time(s.start)}–${time(s.end)}`)));
      box.querySelector('input')?.focus();
    } catch (e) { bad(refusal(e)); }
  }
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const pick = f.querySelector('input[name=slot]:checked');
    if (!pick) { bad(t('field.start')); return; }
    const btn = f.querySelector('#book-btn');
    btn.disabled = true;
    try {
      let b = await api('POST', `/api/visits/${v.id}/book`, { start: pick.dataset.start, end: pick.dataset.end });
      if (techId && b.technician_id !== Number(techId)) {
        try {
          b = await api('POST', `/api/visits/${v.id}/assign`, { technician_id: Number(techId), version: b.version });
        } catch (e) {
          detail.close();
          flash(t('b.booked_other') + ' ' + refusal(e), true);
          await load();
          return;
        }
      }
      detail.close();
      flash(t('b.booked', { folio: ref(v), name: techs.find((x) => x.id === b.technician_id)?.name || '' }));
      await load();
    } catch (e) {
      bad(refusal(e));
      if (e instanceof ApiError && e.status === 409) await fill();
    } finally {
      btn.disabled = false;
    }
  });
  await fill();
}

async function openDetail(id) {
  const v = visits.get(id);
  if (!v) return;
  detailBody.replaceChildren(h('p', { class: 'muted' }, '…'));
  if (!detail.open) detail.showModal();
  const moveSel = h('select', { id: 'move-to' },
    h('option', { value: '' }, t('b.unassigned')),
    techs.map((x) => h('option', { value: x.id, selected: x.id === v.technician_id }, x.name)));
  const moveBtn = h('button', { type: 'button', class: 'primary', id: 'move-btn' }, t('b.assign'));
  moveBtn.addEventListener('click', async () => { detail.close(); await assign(id, moveSel.value, v); });
  // A pinned one may be unpinned whatever its status.
  const pinBtn = pinnable(v) || v.pinned ? h('button', { type: 'button', id: 'pin-btn' }, v.pinned ? t('b.unpin') : t('b.pin')) : null;
  pinBtn?.addEventListener('click', async () => {
    try { await api('POST', `/api/visits/${id}/pin`, { pinned: !v.pinned, version: v.version }); detail.close(); }
    catch (err) { flash(refusal(err), true); detail.close(); }
    await load();
  });
  // A visit that needs a window is booked; one whose customer asked for another time, or
  // whose window went by, may get a new window, or the request cleared (he kept his window
  // on the phone).
  const bookBtn = needsWindow(v) || asks(v) || missed(v)
    ? h('button', { type: 'button', class: 'primary', id: 'book-open' }, needsWindow(v) ? t('d.book') : t('b.rebook')) : null;
  bookBtn?.addEventListener('click', () => bookDialog(v, control ? moveSel.value : ''));
  const clearBtn = asks(v) ? h('button', { type: 'button', id: 'clear-ask' }, t('b.clear_ask')) : null;
  clearBtn?.addEventListener('click', async () => {
    try {
      await api('DELETE', `/api/visits/${id}/reschedule-request`);
      flash(t('b.ask_cleared', { folio: ref(v) }));
    } catch (err) { flash(refusal(err), true); }
    detail.close();
    await load();
  });
  const parts = [
    h('dl', { class: 'facts' },
      h('dt', {}, t('st.folio')), h('dd', { class: 'big' }, ref(v)),
      h('dt', {}, t('st.status')), h('dd', {}, h('span', { class: 'badge s-' + v.status }, t('visit.' + v.status)), v.at_risk ? ' ' + t('b.at_risk') : '', v.pinned ? ' · ' + t('b.pinned') : ''),
      asks(v) ? [h('dt', {}, t('b.customer_asks')), h('dd', { id: 'detail-asks' }, h('strong', { class: 'chip asks' }, asksText(v)))] : [],
      sla(v) ? [h('dt', {}, t('b.deadline')), h('dd', { id: 'detail-sla' }, h('strong', { class: 'chip sla-' + sla(v) }, slaText(v)))] : [],
      v.window ? [h('dt', {}, t('st.window')), h('dd', {}, t('b.window', { start: time(v.window.start), end: time(v.window.end) }),
        missed(v) ? [' ', h('strong', { class: 'chip bad missed', id: 'detail-missed' }, t('b.missed'))] : '')] : [],
      v.planned_arrival ? [h('dt', {}, t('b.arrival', { time: '' }).trim()), h('dd', {}, time(v.planned_arrival))] : [],
      h('dt', {}, t('b.address')), h('dd', {}, v.address || '—')),
    control ? h('div', { class: 'move' }, movable(v) || needsWindow(v) ? [h('div', { class: 'field' }, h('label', { for: 'move-to' }, t('b.move_to')), moveSel), needsWindow(v) ? bookBtn : moveBtn] : '',
      needsWindow(v) ? '' : bookBtn, pinBtn, clearBtn)
      : bookBtn ? h('div', { class: 'move' }, bookBtn, clearBtn) : '',
  ];
  detailBody.replaceChildren(...parts);
  if (!v.folio && v.incident_id) { await incidentDetail(v); return; }
  try {
    const r = await api('GET', '/api/tickets/' + encodeURIComponent(v.folio));
    detailBody.append(
      h('dl', { class: 'facts' },
        h('dt', {}, t('b.customer')), h('dd', {}, r.customer?.name || '', r.customer?.phone ? ' · ' : '', r.customer?.phone ? h('a', { href: 'tel:' + r.customer.phone }, r.customer.phone) : ''),
        h('dt', {}, t('st.kind')), h('dd', {}, t('kind.' + r.kind)),
        h('dt', {}, t('st.due')), h('dd', {}, dateTime(r.due_at) || '—')),
      h('h3', {}, t('b.description')), h('p', { class: 'user-text', id: 'detail-description' }, r.description || ''),
      h('h3', {}, t('b.timeline')),
      timeline(r.timeline, { id: 'detail-timeline' }),
      h('h3', {}, t('b.sms')), smsHistory(r.timeline || []));
    const media = (await api('GET', '/api/tickets/' + encodeURIComponent(v.folio) + '/media')).media || [];
    let n = 0;
    if (media.length) {
      detailBody.append(h('h3', {}, t('b.media')), h('ul', { class: 'media', id: 'detail-media' }, media.map((m) =>
        h('li', {}, h('a', { href: m.url, target: '_blank', rel: 'noopener' },
          h('img', { src: m.url, class: m.kind, loading: 'lazy', alt: m.kind === 'signature' ? t('b.signature_img') : t('b.photo_n', { n: ++n }) }))))));
    }
  } catch (err) {
    detailBody.append(h('p', { class: 'form-error' }, message(err)));
  }
}
document.getElementById('detail-close').addEventListener('click', () => detail.close());

// incidentDetail completes the detail of a visit planned for an incident itself: there is
// no report nor customer, so it shows the incident (title, access point, status) and the
// incident's own timeline, which holds this visit's steps.
async function incidentDetail(v) {
  try {
    const inc = await api('GET', '/api/incidents/' + v.incident_id);
    detailBody.append(
      h('p', {}, h('strong', { class: 'chip bad incident-visit' }, t('b.incident_visit'))),
      h('dl', { class: 'facts', id: 'detail-incident' },
        h('dt', {}, t('b.incident')), h('dd', {}, `${inc.folio} · ${inc.title || ''} · ${inc.access_point}`),
        h('dt', {}, t('st.status')), h('dd', { id: 'detail-incident-status' }, t(inc.status === 'open' ? 'st.incident_open' : 'st.incident_resolved'))),
      h('h3', {}, t('b.timeline')),
      timeline(inc.timeline, { id: 'detail-timeline' }));
  } catch (err) {
    detailBody.append(h('p', { class: 'form-error' }, message(err)));
  }
}

// smsHistory lists a report's texts, newest first: each one sent, delivered or failed (with
// what it said: folio, appointment, outcome…, and Twilio's error code), and what the
// customer wrote by SMS.
function smsHistory(steps) {
  const label = (k, fallback) => (t(k) === k ? fallback : t(k));
  const texts = steps.filter((e) => /^sms\./.test(e.type) || (e.channel === 'sms' && e.type !== 'report.created'));
  if (!texts.length) return h('p', { class: 'muted', id: 'detail-sms' }, t('b.no_sms'));
  return h('ol', { class: 'timeline', id: 'detail-sms' }, texts.slice().reverse().map((e) => {
    const d = e.data || {};
    return h('li', { class: e.type === 'sms.failed' ? 'bad' : '' }, h('time', { datetime: e.at }, dateTime(e.at)),
      eventLabel(e.type),
      d.kind ? ' · ' + label('sms.' + d.kind, d.kind) : '',
      d.error_code ? ' · ' + t('b.sms_error', { code: d.error_code }) : '',
      d.text ? [' · ', h('q', { class: 'user-text' }, d.text)] : '');
  }));
}

document.getElementById('optimise')?.addEventListener('click', async (ev) => {
  const btn = ev.currentTarget;
  btn.disabled = true;
  // The search uses its time limit (5 s): say so until its answer replaces the message.
  flash(t('b.optimising'));
  clearTimeout(flash.timer);
  try {
    const res = await api('POST', `/api/plans/${encodeURIComponent(dayInput.value)}/optimize`, {});
    flash(t('b.optimised') + (res && typeof res.moved === 'number' ? ` (${res.moved})` : ''));
  } catch (err) {
    flash(refusal(err), true);
  } finally {
    btn.disabled = false;
  }
  load();
});

dayInput.addEventListener('change', () => {
  if (!dayInput.value) return;
  const u = new URL(location.href);
  u.searchParams.set('day', dayInput.value);
  history.replaceState(null, '', u);
  load();
});
document.getElementById('day-form').addEventListener('submit', (ev) => ev.preventDefault());

let debounce = 0;
function activity(msg) {
  const d = msg.data || {};
  // A visit's step names its folio; the board knows it when the event does not say.
  const v = d.visit_id ? visits.get(d.visit_id) : null;
  const folio = d.folio || d.incident_folio || (v ? ref(v) : '');
  // Who took the step, as the timelines say it: the live message's data carries actor and
  // actor_name as a timeline entry does.
  const who = actorName(d);
  activityEl.prepend(h('li', { dataset: { type: msg.type } }, h('time', { datetime: msg.at }, time(msg.at)), ' ', eventLabel(msg.type),
    folio ? ' · ' + folio : '', who ? ' · ' + t('d.by', { who }) : ''));
  while (activityEl.children.length > 50) activityEl.lastChild.remove();
}
// Positions are shared without an event (at most once a minute a phone): the technicians,
// and so the map, are read again each minute, and when the board comes back into view. Each
// read brings the positions' ages by the server's clock, so a position that grew old since
// is drawn faded then (positionMark), without a new position or a reload.
async function positions() {
  if (document.visibilityState !== 'visible') return;
  try {
    const tl = await api('GET', '/api/technicians?active=true');
    techs = (tl.technicians || []).slice().sort((a, b) => a.name.localeCompare(b.name, lang));
    render();
  } catch { /* the next load or minute shows them */ }
}
setInterval(positions, 60000);
document.addEventListener('visibilitychange', positions);

// The feed opens once the board's data is in, from where that data was read (live.js): an
// event committed in between is sent, not lost.
const follow = () => live({
  onEvent: (msg) => {
    // route.changed tells a technician's phone of times the board reloads anyway: no
    // line of its own.
    if (msg.type === 'route.changed') return;
    activity(msg);
    // A report's deadline turning at risk or missed recolours its visits.
    // An incident opening, changing or ending redraws its customers on the map.
    if (/^(visit|technician|plan|incident)\.|^report\.sla_|^report\.attached_to_incident$/.test(msg.type)) { clearTimeout(debounce); debounce = setTimeout(load, 250); }
  },
  onReload: () => load(),
  onState: (s) => { liveEl.textContent = s === 'live' ? t('conn.live') : t('conn.reconnecting'); liveEl.className = 'pill ' + (s === 'live' ? 'live' : 'down'); },
});
load().then(follow);
