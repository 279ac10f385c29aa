// live.js: the websocket client of /ws. It resumes after the last event id it saw, shows
// "reconnecting…" while the connection is down, and backs off up to 15 s between tries.
// A lost connection is retried for as long as it takes (the technician's page works without
// signal); a feed the server ended because its user may no longer see it (1008), or refused
// before it opened, is not: the page asks whether it is still signed in, and goes to sign in
// when not.
import { api, connState, leave, signIn, liveFrom, ApiError } from './core.js';

/** live connects to /ws and calls onEvent(msg) for each event ({id,type,at,data}) in order,
 * once. It starts after `after`, by default where the page's data was read (liveFrom), so a
 * page calls it once its first load is in. A {"type":"reload"} message (the server lost track
 * of us), or a connection that cannot resume (no event seen before the drop, or no position
 * to start from), calls onReload; onState gets 'live' or 'down'. */
export function live({ after = liveFrom() ?? 0, path = '/ws', quiet = false, onEvent, onReload, onState }) {
  let last = after;
  let ws = null;
  let delay = 500;
  let stopped = false;
  let timer = 0;
  let opened = false;
  const staff = !quiet && !!document.body.dataset.user;
  const open = () => {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sep = path.includes('?') ? '&' : '?';
    const q = last > 0 ? sep + 'after=' + last : '';
    let sock;
    try { sock = ws = new WebSocket(`${proto}//${location.host}${path}${q}`); } catch { retry(); return; }
    let up = false; // whether this one opened: one refused at the upgrade closes unopened
    // A feed with no position cannot resume where the page was: what happened before it
    // connected is not sent again, so the page loads it anew — after a drop when it had seen
    // no event, and at the first connection when the page's data came with no position.
    const lost = last <= 0;
    sock.addEventListener('open', () => {
      // A feed that connected as the phone lost its signal leaves the offline notice up.
      up = opened = true; delay = 500; if (!quiet) connState(navigator.onLine === false ? 'offline' : 'ok'); onState?.('live');
      if (lost) onReload?.();
    });
    sock.addEventListener('message', (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      if (msg.type === 'reload') { last = 0; onReload?.(); return; }
      if (msg.type === 'error' || msg.type === 'subscribed') return;
      if (typeof msg.id === 'number') {
        if (msg.id <= last) return;
        last = msg.id;
      }
      try { onEvent?.(msg); } catch (e) { console.error(e); }
    });
    // The browser tells a refused upgrade (401: signed out) only as 1006, as it tells a
    // connection lost; 1008 is the server ending the feed of a user who may no longer see it.
    sock.addEventListener('close', (ev) => {
      if (stopped || sock !== ws) return;
      if (staff && (ev.code === 1008 || !up)) check(sock, ev.code === 1008); else retry();
    });
  };
  // check asks the API whether the page is still signed in. Not (401): to the sign-in page,
  // which comes back here after; what the technician's page queued stays queued for then.
  // Still signed in after a 1008: his rights changed, so the page is loaded again and the
  // server shows what he may see now. No answer, or another refusal: retried as before.
  // Either way the page leaves as core.js's leave has it: not while a form is open.
  const check = async (sock, revoked) => {
    onState?.('down');
    connState('reconnecting');
    let gone = false;
    try {
      await api('GET', '/api/me', undefined, { signIn: false });
    } catch (err) {
      gone = err instanceof ApiError && err.status === 401;
      if (!gone) { if (!stopped && ws === sock) retry(); return; }
    }
    if (stopped || ws !== sock) return;
    if (!gone && !revoked) { retry(); return; }
    stopped = true;
    if (gone) signIn(); else leave(() => location.reload());
  };
  const retry = () => {
    onState?.('down');
    if (quiet && !opened) { stopped = true; return; } // no live feed here: the page polls
    if (!quiet) connState('reconnecting');
    clearTimeout(timer);
    timer = setTimeout(open, delay);
    delay = Math.min(delay * 2, 15000);
  };
  addEventListener('online', () => { if (!stopped && ws && ws.readyState > 1) { delay = 500; clearTimeout(timer); open(); } });
  open();
  return {
    get last() { return last; },
    close() { stopped = true; clearTimeout(timer); ws?.close(); },
  };
}
