// live.js: the websocket client of /ws. It resumes after the last event id it saw, shows
// "reconnecting…" while the connection is down, and backs off up to 15 s between tries.
import { connState } from './core.js';

/** live connects to /ws and calls onEvent(msg) for each event ({id,type,at,data}) in order,
 * once. A {"type":"reload"} message (the server lost track of us) calls onReload; onState
 * gets 'live' or 'down'. */
export function live({ after = 0, path = '/ws', quiet = false, onEvent, onReload, onState }) {
  let last = after;
  let ws = null;
  let delay = 500;
  let stopped = false;
  let timer = 0;
  let opened = false;
  const open = () => {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sep = path.includes('?') ? '&' : '?';
    const q = last > 0 ? sep + 'after=' + last : '';
    try { ws = new WebSocket(`${proto}//${location.host}${path}${q}`); } catch { retry(); return; }
    ws.addEventListener('open', () => { opened = true; delay = 500; if (!quiet) connState('ok'); onState?.('live'); });
    ws.addEventListener('message', (m) => {
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
    ws.addEventListener('close', () => { if (!stopped) retry(); });
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
