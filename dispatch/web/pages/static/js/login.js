// login.js: the sign-in page posts the form as JSON; the answer sets the session cookie.
import { api, showError, clearErrors, busy, t, ApiError } from './core.js';

const form = document.getElementById('login');
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email) return showError(form, new ApiError(422, 'required', '', 'email'), t('field.email'));
  if (!password) return showError(form, new ApiError(422, 'required', '', 'password'), t('field.password'));
  busy(form, async () => {
    try {
      const res = await api('POST', '/api/login', { email, password }, { signIn: false });
      const role = res && res.user && res.user.role;
      const home = role === 'technician' ? '/tech' : role === 'agent' ? '/desk' : '/board';
      location.assign(form.dataset.next || home);
    } catch (err) {
      showError(form, err, err.status === 401 ? t('err.login') : undefined);
    }
  });
});
