// report.js: the public report form. A lost connection keeps what was typed and sends it
// again, with the same Idempotency-Key, when the connection returns (or when the customer
// presses the button again): the server then answers the report it may already have filed
// instead of filing a second one. A changed form is another report, with a key of its own.
import { lang, api, message, showError, clearErrors, fieldError, busy, t, newKey, ApiError } from './core.js';

const form = document.getElementById('report');
const done = document.getElementById('done');
let key = newKey();
let sent = null; // the body last sent with key, as sent
let waiting = false;

function input() {
  const v = (n) => form.elements[n].value.trim();
  const body = {
    customer: { name: v('name'), phone: v('phone'), email: v('email'), language: lang },
    kind: v('kind'),
    description: v('description'),
  };
  if (v('address')) body.address = { line: v('address') };
  return body;
}

function check(body) {
  clearErrors(form);
  let first = null;
  const bad = (field, key) => { const el = fieldError(form, field, t(key)); first = first || el; };
  if (!body.customer.name) bad('customer.name', 'field.name');
  if (!body.customer.phone && !body.customer.email) bad('customer.phone', 'field.contact');
  if (!body.description) bad('description', 'field.description');
  first?.focus();
  return !first;
}

async function send() {
  const body = input();
  if (!check(body)) return;
  // The server refuses a key sent again with another body (422): an edited form is sent
  // under a new key.
  const json = JSON.stringify(body);
  if (sent !== null && sent !== json) key = newKey();
  sent = json;
  await busy(form, async () => {
    try {
      const res = await api('POST', '/public/reports', body, { idempotencyKey: key });
      waiting = false;
      key = newKey();
      sent = null;
      document.getElementById('done-folio').textContent = res.folio;
      document.getElementById('done-code').textContent = res.access_code;
      document.getElementById('done-link').href =
        '/estado/' + encodeURIComponent(res.folio) + '?code=' + encodeURIComponent(res.access_code);
      form.hidden = true;
      done.hidden = false;
      done.focus();
    } catch (err) {
      if (err instanceof ApiError && err.offline) waiting = true;
      showError(form, err, message(err, { resendSafe: true }));
    }
  });
}

form.addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
addEventListener('online', () => { if (waiting) send(); });
