// timeline.js: how a folio's (or an outage's) timeline reads on the staff pages, the same on
// the desk and on the board: each step in the page's language with who took it, through
// which channel, and what it was.
import { h, t, date, time, dateTime } from './core.js';

/** tr is the text of prefix+value, or the value itself when there is none (a free text). */
export function tr(prefix, v) { const k = prefix + v; return t(k) === k ? String(v) : t(k); }

/** eventLabel names an event type ("visit.en_route") in the page's language. */
export function eventLabel(type) { return tr('ev.', type); }

/** actorName says who took a step: the staff user's name (actor_name), the address of an
 * e-mail threaded from one not on file, the customer, the system or the SMS carrier; '' when
 * the step names nobody the page can show (never a raw "user:12"). e is a timeline entry or
 * a live message's data, which carry actor and actor_name alike. */
export function actorName(e) {
  if (e.actor_name) return e.actor_name;
  if (typeof e.actor !== 'string') return '';
  if (e.actor.startsWith('email:')) return e.actor.slice(6);
  return ['customer', 'system', 'twilio'].includes(e.actor) ? t('actor.' + e.actor) : '';
}

/** step is one line of a timeline: when, what with its details (the statuses it moved
 * between, the note, the reason, the outcome), who and through which channel, as the
 * procedure asks every step to be kept. User texts stay text (h sets textContent). */
export function step(e) {
  const d = e.data && typeof e.data === 'object' ? e.data : {};
  const what = [];
  if (e.type === 'report.area_assigned' && d.from && d.to) what.push(`${tr('area.', d.from)} → ${tr('area.', d.to)}`);
  else if (e.type.startsWith('report.') && d.from && d.to) what.push(`${tr('status.', d.from)} → ${tr('status.', d.to)}`);
  if (e.type === 'report.reclassified') {
    if (d.from_kind !== d.to_kind) what.push(`${tr('kind.', d.from_kind)} → ${tr('kind.', d.to_kind)}`);
    if (d.from_priority !== d.to_priority) what.push(`${tr('priority.', d.from_priority)} → ${tr('priority.', d.to_priority)}`);
  }
  if ((e.type === 'visit.booked' || e.type === 'visit.rescheduled') && d.window_start && d.window_end) {
    what.push(`${date(d.window_start)} ${time(d.window_start)}–${time(d.window_end)}` + (d.technician_name ? ' · ' + d.technician_name : ''));
  }
  // The public form's name when it is not the one on file: who really wrote.
  if (e.type === 'report.created' && d.name_given) what.push(t('d.name_given', { name: d.name_given }));
  if (d.cause) what.push(`${t('st.cause')}: ${d.cause}`);
  if (d.verdict) what.push(t('verdict.' + d.verdict));
  if (typeof d.service_restored === 'boolean') what.push(`${t('st.restored')}: ${d.service_restored ? t('st.yes') : t('st.no')}`);
  if (d.reason) what.push(tr('reason.', d.reason));
  for (const k of ['notes', 'note', 'text']) if (typeof d[k] === 'string' && d[k]) what.push(d[k]);
  const who = actorName(e);
  return h('li', { dataset: { type: e.type } },
    h('time', { datetime: e.at }, dateTime(e.at)), ' ', h('strong', {}, eventLabel(e.type)),
    e.visit_id && e.type.startsWith('visit.') ? ' ' + t('d.visit_id', { id: e.visit_id }) : '',
    who ? ' · ' + t('d.by', { who }) : '', e.channel ? ' · ' + channelName(e) : '',
    what.length ? h('div', { class: 'user-text' }, what.join(' · ')) : '');
}

/** channelName says through which channel a step came. "web" is the customer's web form
 * for a step the customer took (and for the report itself, whoever filed it); any other step
 * stored as "web" was taken by staff in this application, and says so. */
export function channelName(e) {
  if (e.channel === 'web' && e.actor !== 'customer' && e.type !== 'report.created') return t('channel.staff_app');
  return t('channel.' + e.channel);
}

/** timeline lists steps newest first. */
export function timeline(steps, attrs = {}) {
  return h('ol', { class: 'timeline', ...attrs }, (steps || []).slice().reverse().map(step));
}
