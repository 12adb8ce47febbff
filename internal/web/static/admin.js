// admin.js: the administration console at /admin. Seven sections behind
// tabs with hash routing (#users, #api-keys, #elevations, #keys, #audit,
// #review, #webhooks); every datum comes from the JSON API and becomes text, never
// markup. A risky action the API answers with a "step-up-required" problem
// asks for a TOTP code (POST /v1/auth/step-up/totp) and is tried again.
import {api, h, setCSRF, clearCSRF, showProblem, saveBlob, fmtTime, Problem} from '/static/signet.js';

const $ = (id) => document.getElementById(id);

const SECTIONS = ['users', 'api-keys', 'elevations', 'keys', 'audit', 'review', 'webhooks'];
const WEBHOOK_EVENTS = [
  'envelope.sent', 'envelope.completed', 'envelope.declined', 'envelope.voided', 'envelope.expired',
  'recipient.viewed', 'recipient.signed', 'recipient.authentication_failed', 'document.uploaded',
  'key.rotated', 'certificate.expiring', 'alert.raised',
];
const BUILTIN_ROLES = ['sender', 'approver', 'auditor', 'key-custodian', 'tenant-admin'];
const PRIVILEGED = new Set(['key-custodian', 'tenant-admin']);
const DAY = 24 * 60 * 60 * 1000;
const CSRF_KEY = 'signet.csrf';
const TENANT_KEY = 'signet.tenant';
const AUDIT_PAGE = 25;

const state = {
  me: null, // GET /v1/auth/session's user
  users: [], // GET /v1/users
  usersByID: new Map(),
  roles: [...BUILTIN_ROLES], // built-in and the policy's custom roles
  mine: new Map(), // this session's own elevation requests, by id
  audit: {next: null, envelope: ''},
  loaded: new Set(),
  usersTried: false,
};

// ---- small helpers ------------------------------------------------------

/** The last segment of a problem type URI ("step-up-required"). */
function slug(p) {
  const t = (p && p.type) || '';
  return t.slice(t.lastIndexOf('/') + 1);
}

function isStepUp(p) {
  return p instanceof Problem && p.status === 401 && slug(p) === 'step-up-required';
}

/** A 401 that is not a step-up: the session is gone or pending. */
function isSignedOut(p) {
  return p instanceof Problem && p.status === 401 && !isStepUp(p) && slug(p) !== 'invalid-code';
}

/** An element id made of a datum: lowercase letters, digits and hyphens. */
function idPart(s) {
  return String(s).toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

function badge(text, kind) {
  return h('span', {class: ['badge', kind]}, text);
}

function empty(tbody, cols, text) {
  tbody.replaceChildren(h('tr', {}, h('td', {colspan: String(cols), class: 'muted'}, text)));
}

let noticeTimer = null;
/** Announces a success in the polite status region. */
function notice(text) {
  const n = $('notice');
  n.textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.textContent = ''; }, 15000);
}

/** Shows an error in a section's alert box; a signed-out session goes
 *  back to the sign-in form. */
function fail(containerId, err) {
  if (isSignedOut(err)) {
    showSignIn('Your session has ended. Sign in again.');
    return;
  }
  let p = err;
  if (err instanceof Problem && err.status === 403 && /separation of duties/i.test(err.detail || '')) {
    p = new Problem({status: 403, type: err.type, title: 'Refused: separation of duties', detail: err.detail});
  } else if (!(err instanceof Problem)) {
    p = new Problem({title: 'Something went wrong', detail: String((err && err.message) || err)});
  }
  const c = $(containerId);
  showProblem(c, p);
  c.scrollIntoView({block: 'nearest'});
}

function clearAlert(containerId) {
  showProblem($(containerId), null);
}

/** Runs a button's action with the button disabled meanwhile. */
async function busy(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } finally {
    if (button) button.disabled = false;
  }
}

/** Copies text to the clipboard, falling back to selecting it. */
async function copy(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    notice('Copied to the clipboard.');
  } catch (_) {
    input.focus();
    input.select();
    notice('Press Ctrl+C (or ⌘C) to copy the selected text.');
  }
}

function userLabel(id) {
  const u = state.usersByID.get(id);
  if (u) return u.name ? `${u.name} <${u.email}>` : u.email;
  if (state.me && id === state.me.id) return `${state.me.email} (you)`;
  return id;
}

function duration(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

// ---- dialogs ------------------------------------------------------------

/** Asks to confirm a risky action; resolves to false when cancelled, to
 *  true (or the chosen reason when withReason) when confirmed. */
function confirmAction({title, text, ok = 'Confirm', danger = true, withReason = false}) {
  const dlg = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('confirm-ok').className = danger ? 'danger' : 'primary';
  $('confirm-reason-row').classList.toggle('hidden', !withReason);
  $('confirm-reason').value = 'superseded';
  dlg.returnValue = 'cancel';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      if (dlg.returnValue !== 'ok') resolve(false);
      else resolve(withReason ? $('confirm-reason').value : true);
    }, {once: true});
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

/** Asks for a TOTP code and steps the session up; resolves to true once
 *  it has, false if the person cancels. */
function stepUp(problem) {
  const dlg = $('stepup-dialog');
  const form = $('stepup-form');
  const code = $('stepup-code');
  code.value = '';
  showProblem($('stepup-alert'), null);
  $('stepup-text').textContent = (problem && problem.detail)
    ? `This action needs a fresh authentication (${problem.detail}). Enter the current code from your authenticator app.`
    : 'This action needs a fresh authentication. Enter the current code from your authenticator app.';
  return new Promise((resolve) => {
    const finish = (ok) => {
      form.removeEventListener('submit', submit);
      $('stepup-cancel').removeEventListener('click', cancel);
      dlg.removeEventListener('cancel', cancel);
      if (dlg.open) dlg.close();
      resolve(ok);
    };
    const submit = async (ev) => {
      ev.preventDefault();
      const value = code.value.trim();
      if (!value) {
        showProblem($('stepup-alert'), new Problem({title: 'Enter the code', detail: 'The six digits your authenticator app shows now.'}));
        return;
      }
      try {
        await busy($('stepup-submit'), async () => {
          const s = await api('POST', '/v1/auth/step-up/totp', {json: {code: value}});
          if (s && s.csrf_token) setCSRF(s.csrf_token);
        });
        finish(true);
      } catch (err) {
        code.value = '';
        showProblem($('stepup-alert'), err);
        code.focus();
      }
    };
    const cancel = (ev) => {
      if (ev) ev.preventDefault();
      finish(false);
    };
    form.addEventListener('submit', submit);
    $('stepup-cancel').addEventListener('click', cancel);
    dlg.addEventListener('cancel', cancel);
    dlg.showModal();
    code.focus();
  });
}

/** Calls fn; when the API asks for a step-up, asks for it and calls fn
 *  once more. */
async function withStepUp(fn) {
  try {
    return await fn();
  } catch (err) {
    if (!isStepUp(err)) throw err;
    if (!(await stepUp(err))) {
      throw new Problem({status: 401, type: err.type, title: 'Not done', detail: 'The action needs a fresh authentication, which was cancelled.'});
    }
    return fn();
  }
}

// ---- signing in ---------------------------------------------------------

function showOnly(id) {
  for (const s of ['section-login', 'section-redeem', ...SECTIONS.map((n) => `section-${n}`)]) {
    $(s).classList.toggle('hidden', s !== id);
  }
}

function showSignIn(message) {
  state.me = null;
  clearCSRF();
  $('admin-nav').classList.add('hidden');
  $('whoami').classList.add('hidden');
  $('login-form').classList.remove('hidden');
  $('totp-form').classList.add('hidden');
  $('enrol-needed').classList.add('hidden');
  $('login-password').value = '';
  showOnly('section-login');
  if (message) showProblem($('login-alert'), new Problem({title: 'Please sign in', detail: message}));
  else showProblem($('login-alert'), null);
  const t = localStorage.getItem(TENANT_KEY);
  if (t && !$('login-tenant').value) $('login-tenant').value = t;
  ($('login-tenant').value ? $('login-email') : $('login-tenant')).focus();
}

function showSecondFactor(mfa) {
  showOnly('section-login');
  $('login-form').classList.add('hidden');
  if (mfa === 'enrol') {
    $('enrol-needed').classList.remove('hidden');
    $('totp-form').classList.add('hidden');
    return;
  }
  $('totp-form').classList.remove('hidden');
  $('login-totp').value = '';
  $('login-totp').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  clearAlert('login-alert');
  const tenant = $('login-tenant').value.trim();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  if (!tenant || !email || !password) {
    showProblem($('login-alert'), new Problem({title: 'Missing details', detail: 'Enter the tenant, your e-mail address and your password.'}));
    return;
  }
  try {
    const s = await busy($('login-submit'), () => api('POST', '/v1/auth/login', {json: {tenant, email, password}}));
    $('login-password').value = '';
    setCSRF(s.csrf_token);
    localStorage.setItem(TENANT_KEY, tenant);
    if (s.mfa && s.mfa !== 'none') {
      showSecondFactor(s.mfa);
      return;
    }
    await enter();
  } catch (err) {
    showProblem($('login-alert'), err);
  }
}

async function onTOTP(ev) {
  ev.preventDefault();
  clearAlert('login-alert');
  const code = $('login-totp').value.trim();
  if (!code) {
    showProblem($('login-alert'), new Problem({title: 'Enter the code', detail: 'The six digits your authenticator app shows now.'}));
    return;
  }
  try {
    const s = await busy($('totp-submit'), () => api('POST', '/v1/auth/mfa/totp', {json: {code}}));
    setCSRF(s.csrf_token);
    await enter();
  } catch (err) {
    $('login-totp').value = '';
    if (isSignedOut(err)) showSignIn('The sign-in has expired. Start again.');
    else showProblem($('login-alert'), err);
  }
}

async function onLogout() {
  try {
    await api('POST', '/v1/auth/logout');
  } catch (_) {
    // The session may be gone already; forgetting it here is what counts.
  }
  showSignIn();
  notice('Signed out.');
}

/** Reads the session: signed in and complete → the console. */
async function enter() {
  if (!sessionStorage.getItem(CSRF_KEY)) {
    // Without this tab's CSRF token a session cannot change anything:
    // sign in here (a session the browser had then ends).
    showSignIn();
    return;
  }
  let s;
  try {
    s = await api('GET', '/v1/auth/session');
  } catch (err) {
    showSignIn();
    return;
  }
  if (s.pending) {
    showSecondFactor(s.mfa);
    return;
  }
  state.me = s.user;
  state.loaded.clear();
  $('whoami-name').textContent = s.user.name ? `${s.user.name} (${s.user.email}) · ${s.user.tenant}` : `${s.user.email} · ${s.user.tenant}`;
  $('whoami').classList.remove('hidden');
  $('admin-nav').classList.remove('hidden');
  clearAlert('login-alert');
  fillRoleChoices();
  route();
}

// ---- accepting an invitation ---------------------------------------------

let invitationToken = '';

function showRedeem(token) {
  invitationToken = token;
  // The token leaves the address bar and the history at once.
  history.replaceState(null, '', location.pathname);
  showOnly('section-redeem');
  $('redeem-password').focus();
}

async function onRedeem(ev) {
  ev.preventDefault();
  clearAlert('redeem-alert');
  const pw = $('redeem-password').value;
  if (!pw || pw !== $('redeem-password2').value) {
    showProblem($('redeem-alert'), new Problem({title: 'Passwords differ', detail: 'Type the same password twice.'}));
    return;
  }
  try {
    await busy($('redeem-submit'), () => api('POST', '/v1/invitations/redeem', {json: {token: invitationToken, password: pw}}));
    invitationToken = '';
    $('redeem-password').value = '';
    $('redeem-password2').value = '';
    showSignIn();
    notice('Your password is set. Sign in with it; you will then set up a second factor.');
  } catch (err) {
    showProblem($('redeem-alert'), err);
  }
}

// ---- routing --------------------------------------------------------------

function current() {
  const name = location.hash.replace(/^#/, '');
  return SECTIONS.includes(name) ? name : 'users';
}

function route() {
  if (!state.me) return;
  const name = current();
  $('notice').textContent = '';
  for (const n of SECTIONS) {
    const tab = $(`tab-${n}`);
    const on = n === name;
    tab.setAttribute('aria-selected', on ? 'true' : 'false');
    tab.setAttribute('tabindex', on ? '0' : '-1');
    tab.classList.toggle('active', on);
  }
  showOnly(`section-${name}`);
  if (!state.loaded.has(name)) {
    state.loaded.add(name);
    LOADERS[name]();
  }
}

/** Left and right arrows move between the tabs, as in a tab list. */
function onTabKey(ev) {
  if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft' && ev.key !== 'Home' && ev.key !== 'End') return;
  const i = SECTIONS.indexOf(current());
  let j = i;
  if (ev.key === 'ArrowRight') j = (i + 1) % SECTIONS.length;
  if (ev.key === 'ArrowLeft') j = (i + SECTIONS.length - 1) % SECTIONS.length;
  if (ev.key === 'Home') j = 0;
  if (ev.key === 'End') j = SECTIONS.length - 1;
  ev.preventDefault();
  location.hash = SECTIONS[j];
  $(`tab-${SECTIONS[j]}`).focus();
}

// ---- roles ----------------------------------------------------------------

async function loadRoles() {
  try {
    const p = await api('GET', '/v1/policy');
    const custom = (p.roles || []).map((r) => r.name);
    state.roles = [...BUILTIN_ROLES, ...custom.filter((r) => !BUILTIN_ROLES.includes(r))];
  } catch (_) {
    // Reading the policy needs policy.admin; the built-in roles remain.
  }
  fillRoleChoices();
}

function roleCheckboxes(fieldset, prefix, filter) {
  const roles = state.roles.filter(filter);
  const have = [...fieldset.querySelectorAll('input[type=checkbox]')].map((i) => i.value);
  if (have.join(' ') === roles.join(' ')) return; // unchanged: keep the person's choices as they are
  const legend = fieldset.querySelector('legend');
  const checked = new Set([...fieldset.querySelectorAll('input:checked')].map((i) => i.value));
  fieldset.replaceChildren(legend);
  for (const r of roles) {
    const id = `${prefix}-${idPart(r)}`;
    fieldset.appendChild(h('span', {class: 'check'},
      h('input', {type: 'checkbox', id, value: r, checked: checked.has(r)}),
      h('label', {for: id}, r)));
  }
}

function fillSelect(select, values, labels) {
  const keep = select.value;
  select.replaceChildren(...values.map((v, i) => h('option', {value: v}, labels ? labels[i] : v)));
  if (values.includes(keep)) select.value = keep;
}

function fillRoleChoices() {
  const standing = (r) => !PRIVILEGED.has(r);
  roleCheckboxes($('invite-roles'), 'invite-role', standing);
  roleCheckboxes($('apikey-roles'), 'apikey-role', () => true);
  fillSelect($('grant-role'), state.roles.filter(standing));
  fillSelect($('elevation-role'), state.roles);
}

function checkedValues(fieldset) {
  return [...fieldset.querySelectorAll('input[type=checkbox]:checked')].map((i) => i.value);
}

// ---- (1) users and roles ----------------------------------------------

/** Reads the users; the refresh button is disabled meanwhile. */
function loadUsers() {
  return busy($('users-refresh'), readUsers);
}

async function readUsers() {
  clearAlert('users-alert');
  const tbody = $('users-table').querySelector('tbody');
  try {
    const users = [];
    let after = '';
    for (let i = 0; i < 50; i++) { // at most 50 pages of 200
      const q = after ? `?after=${encodeURIComponent(after)}` : '';
      const page = await api('GET', `/v1/users${q}`);
      users.push(...page.users);
      if (!page.next) break;
      after = page.next;
    }
    state.users = users;
    state.usersByID = new Map(users.map((u) => [u.id, u]));
    // The access review adds each user's second factors and grants; if it
    // cannot be read, each user's grants are read one by one.
    const details = new Map();
    try {
      const rv = await api('GET', '/v1/access-review?format=json');
      for (const p of rv.principals || []) if (p.kind === 'user') details.set(p.id, {grants: p.grants || [], mfa: p.mfa});
    } catch (_) {
      await Promise.all(users.map(async (u) => {
        try {
          const full = await api('GET', `/v1/users/${encodeURIComponent(u.id)}`);
          details.set(u.id, {grants: full.grants || [], mfa: null});
        } catch (_) { /* shown without grants */ }
      }));
    }
    renderUsers(tbody, users, details);
    fillSelect($('grant-user'), users.filter((u) => u.status === 'active').map((u) => u.id),
      users.filter((u) => u.status === 'active').map((u) => u.email));
  } catch (err) {
    empty(tbody, 5, 'The users cannot be listed.');
    fail('users-alert', err);
  }
}

function renderUsers(tbody, users, details) {
  if (!users.length) {
    empty(tbody, 5, 'No user yet.');
    return;
  }
  tbody.replaceChildren(...users.map((u) => {
    const d = details.get(u.id) || {grants: [], mfa: null};
    const own = state.me && u.id === state.me.id;
    const live = d.grants.filter((g) => g.active);
    const status = u.status === 'active'
      ? (u.has_password ? badge('active', 'ok') : badge('invited', 'warn'))
      : badge(u.status, 'bad');
    let mfa;
    if (d.mfa) mfa = d.mfa.status === 'none' ? badge(u.mfa_required ? 'none yet' : 'none', 'warn') : badge(d.mfa.status, 'ok');
    else mfa = u.mfa_required ? 'required' : 'optional';
    const roles = live.length ? h('ul', {class: 'grants'}, live.map((g) => h('li', {},
      h('span', {class: ['badge', g.effective ? 'ok' : 'warn'], title: g.effective ? 'in force' : 'not in force under the policy'}, g.role),
      g.not_after ? h('span', {class: 'muted'}, ` until ${fmtTime(g.not_after)}`) : null,
      g.elevation_id ? h('span', {class: 'muted'}, g.break_glass ? ' (break-glass)' : ' (elevation)') : null,
      g.effective ? null : h('span', {class: 'muted'}, ' (not in force)'),
      u.status === 'active' && !g.elevation_id && !own ? h('button', {
        type: 'button', class: 'link revoke-grant', id: `revoke-${idPart(g.id)}`,
        'aria-label': `Revoke ${g.role} from ${u.email}`, onclick: (ev) => revokeGrant(ev.currentTarget, u, g),
      }, 'Revoke') : null))) : h('span', {class: 'muted'}, 'none');
    const actions = [];
    if (u.status === 'active' && (!state.me || u.id !== state.me.id)) {
      if (!u.has_password) {
        actions.push(h('button', {type: 'button', class: 'secondary', id: `reinvite-${idPart(u.id)}`,
          onclick: (ev) => reinvite(ev.currentTarget, u)}, 'New invitation'));
      }
      actions.push(h('button', {type: 'button', class: 'danger', id: `disable-${idPart(u.id)}`,
        'aria-label': `Disable ${u.email}`, onclick: (ev) => disableUser(ev.currentTarget, u)}, 'Disable'));
    }
    return h('tr', {'data-user-id': u.id, 'data-email': u.email},
      h('td', {}, h('div', {}, u.name || u.email), u.name ? h('div', {class: 'muted'}, u.email) : null),
      h('td', {}, status),
      h('td', {}, mfa),
      h('td', {class: 'roles-cell'}, roles),
      h('td', {class: 'row-actions'}, actions));
  }));
}

function showInvitation(email, inv) {
  const link = `${location.origin}/admin#invitation=${encodeURIComponent(inv.token)}`;
  $('invite-result-text').textContent = `Send this link to ${email} over a channel you trust. It is shown this once and works until ${fmtTime(inv.expires_at)}.`;
  $('invite-link').value = link;
  $('invite-result').classList.remove('hidden');
  $('invite-link').focus();
  $('invite-link').select();
}

async function onInvite(ev) {
  ev.preventDefault();
  clearAlert('users-alert');
  const email = $('invite-email').value.trim();
  if (!email) {
    fail('users-alert', new Problem({title: 'Missing e-mail address', detail: 'Enter the address of the person to invite.'}));
    return;
  }
  const body = {email, name: $('invite-name').value.trim(), roles: checkedValues($('invite-roles'))};
  try {
    const res = await busy($('invite-submit'), () => withStepUp(() => api('POST', '/v1/users', {json: body})));
    $('invite-form').reset();
    showInvitation(res.user.email, res.invitation);
    notice(`${res.user.email} is invited.`);
    await loadUsers();
  } catch (err) {
    fail('users-alert', err);
  }
}

async function reinvite(button, u) {
  clearAlert('users-alert');
  try {
    const inv = await busy(button, () => withStepUp(() => api('POST', `/v1/users/${encodeURIComponent(u.id)}/invitation`)));
    showInvitation(u.email, inv);
    notice(`A new invitation for ${u.email} is ready.`);
  } catch (err) {
    fail('users-alert', err);
  }
}

async function onGrant(ev) {
  ev.preventDefault();
  clearAlert('users-alert');
  const uid = $('grant-user').value;
  const role = $('grant-role').value;
  if (!uid || !role) {
    fail('users-alert', new Problem({title: 'Choose a user and a role'}));
    return;
  }
  const body = {role};
  const until = $('grant-until').value;
  if (until) body.not_after = new Date(`${until}T23:59:59`).toISOString();
  try {
    await busy($('grant-submit'), () => withStepUp(() => api('POST', `/v1/users/${encodeURIComponent(uid)}/grants`, {json: body})));
    notice(`${role} granted to ${userLabel(uid)}.`);
    $('grant-until').value = '';
    await loadUsers();
  } catch (err) {
    fail('users-alert', err);
  }
}

async function revokeGrant(button, u, g) {
  clearAlert('users-alert');
  const ok = await confirmAction({title: `Revoke ${g.role}?`, text: `${u.email} loses the role ${g.role} at once.`, ok: 'Revoke'});
  if (!ok) return;
  try {
    await busy(button, () => withStepUp(() => api('DELETE', `/v1/users/${encodeURIComponent(u.id)}/grants/${encodeURIComponent(g.id)}`)));
    notice(`${g.role} revoked from ${u.email}.`);
    await loadUsers();
  } catch (err) {
    fail('users-alert', err);
  }
}

async function disableUser(button, u) {
  clearAlert('users-alert');
  const ok = await confirmAction({
    title: `Disable ${u.email}?`,
    text: 'Their sessions end, their pending requests and elevations are revoked, and their API keys and tokens stop working. This cannot be undone here.',
    ok: 'Disable user',
  });
  if (!ok) return;
  try {
    const off = await busy(button, () => withStepUp(() => api('POST', `/v1/users/${encodeURIComponent(u.id)}/disable`)));
    notice(`${u.email} is disabled: ${off.sessions} session(s), ${off.credentials.length} credential(s), ${off.grants.length + off.elevations.length} elevation(s) revoked.`);
    await loadUsers();
  } catch (err) {
    fail('users-alert', err);
  }
}

// ---- (2) API keys -----------------------------------------------------------

function keyStatus(k) {
  const now = Date.now();
  if (k.revoked_at) return badge('revoked', 'bad');
  if (k.expires_at && Date.parse(k.expires_at) <= now) return badge('expired', 'bad');
  if (k.replaced_by) {
    if (k.overlap_ends_at && Date.parse(k.overlap_ends_at) > now) return badge(`replaced, works until ${fmtTime(k.overlap_ends_at)}`, 'warn');
    return badge('replaced', 'bad');
  }
  return badge('active', 'ok');
}

function usable(k) {
  return !k.revoked_at && !k.replaced_by && !(k.expires_at && Date.parse(k.expires_at) <= Date.now());
}

async function loadAPIKeys() {
  clearAlert('apikeys-alert');
  const tbody = $('apikeys-table').querySelector('tbody');
  try {
    const res = await api('GET', '/v1/api-keys');
    const keys = res.api_keys || [];
    if (!keys.length) {
      empty(tbody, 8, 'No API key yet.');
      return;
    }
    tbody.replaceChildren(...keys.map((k) => h('tr', {'data-key-id': k.id, 'data-name': k.name},
      h('td', {}, h('div', {}, k.name), h('div', {class: 'muted mono'}, k.id)),
      h('td', {class: 'mono'}, `${k.prefix}…`),
      h('td', {}, (k.roles || []).map((r) => badge(r, 'neutral')),
        h('div', {class: 'muted small', title: (k.actions || []).join(' ')}, `${(k.actions || []).length} action(s): ${(k.actions || []).join(', ')}`)),
      h('td', {}, fmtTime(k.created_at)),
      h('td', {}, k.expires_at ? fmtTime(k.expires_at) : 'never'),
      h('td', {}, k.last_used_at ? fmtTime(k.last_used_at) : 'never'),
      h('td', {}, keyStatus(k)),
      h('td', {class: 'row-actions'}, usable(k) ? [
        h('button', {type: 'button', class: 'secondary', id: `rotate-apikey-${idPart(k.id)}`, 'aria-label': `Rotate ${k.name}`,
          onclick: (ev) => rotateAPIKey(ev.currentTarget, k)}, 'Rotate'),
        h('button', {type: 'button', class: 'danger', id: `revoke-apikey-${idPart(k.id)}`, 'aria-label': `Revoke ${k.name}`,
          onclick: (ev) => revokeAPIKey(ev.currentTarget, k)}, 'Revoke'),
      ] : null))));
  } catch (err) {
    empty(tbody, 8, 'The API keys cannot be listed.');
    fail('apikeys-alert', err);
  }
}

function showSecret(name, secret) {
  $('apikey-secret-label').textContent = `Secret of “${name}”`;
  $('apikey-secret').value = secret;
  $('apikey-secret-panel').classList.remove('hidden');
  $('apikey-secret').focus();
  $('apikey-secret').select();
}

function hideSecret() {
  $('apikey-secret').value = '';
  $('apikey-secret-panel').classList.add('hidden');
}

async function onCreateAPIKey(ev) {
  ev.preventDefault();
  clearAlert('apikeys-alert');
  hideSecret();
  const name = $('apikey-name').value.trim();
  if (!name) {
    fail('apikeys-alert', new Problem({title: 'Missing name', detail: 'Name the key after the system that will use it.'}));
    return;
  }
  const body = {name, roles: checkedValues($('apikey-roles'))};
  const actions = $('apikey-actions').value.split(/[\s,]+/).filter(Boolean);
  if (actions.length) body.actions = actions;
  const exp = $('apikey-expires').value;
  if (exp) body.expires_at = new Date(`${exp}T23:59:59`).toISOString();
  try {
    const k = await busy($('apikey-submit'), () => withStepUp(() => api('POST', '/v1/api-keys', {json: body})));
    $('apikey-form').reset();
    showSecret(k.name, k.secret);
    notice(`API key “${k.name}” created. Copy its secret now.`);
    await loadAPIKeys();
  } catch (err) {
    fail('apikeys-alert', err);
  }
}

async function rotateAPIKey(button, k) {
  clearAlert('apikeys-alert');
  const ok = await confirmAction({
    title: `Rotate “${k.name}”?`,
    text: 'A new key with a new secret replaces it. The old secret keeps working for one day, so the systems using it can move over.',
    ok: 'Rotate', danger: false,
  });
  if (!ok) return;
  try {
    const nk = await busy(button, () => withStepUp(() => api('POST', `/v1/api-keys/${encodeURIComponent(k.id)}/rotate`, {json: {}})));
    showSecret(nk.name, nk.secret);
    notice(`“${k.name}” rotated. Copy the new secret now.`);
    await loadAPIKeys();
  } catch (err) {
    fail('apikeys-alert', err);
  }
}

async function revokeAPIKey(button, k) {
  clearAlert('apikeys-alert');
  const ok = await confirmAction({title: `Revoke “${k.name}”?`, text: 'The key and every access token made with it stop working at once.', ok: 'Revoke key'});
  if (!ok) return;
  try {
    await busy(button, () => withStepUp(() => api('DELETE', `/v1/api-keys/${encodeURIComponent(k.id)}`)));
    notice(`“${k.name}” is revoked.`);
    await loadAPIKeys();
  } catch (err) {
    fail('apikeys-alert', err);
  }
}

// ---- (3) elevations ---------------------------------------------------------

/** Reads the users once (for names), if the principal may; people are
 *  shown by id otherwise. */
async function ensureUsers() {
  if (state.usersByID.size || state.usersTried) return;
  state.usersTried = true;
  try {
    const page = await api('GET', '/v1/users');
    state.usersByID = new Map(page.users.map((u) => [u.id, u]));
  } catch (_) { /* shown by id */ }
}

/** Reads the pending requests; the refresh button is disabled meanwhile. */
function loadElevations() {
  return busy($('elevations-refresh'), readElevations);
}

async function readElevations() {
  clearAlert('elevations-alert');
  await ensureUsers();
  let listed = [];
  let refused = null;
  try {
    listed = (await api('GET', '/v1/elevations')).elevations || [];
  } catch (err) {
    if (isSignedOut(err)) {
      fail('elevations-alert', err);
      return;
    }
    refused = err;
  }
  const byID = new Map(listed.map((e) => [e.id, e]));
  if (!refused) {
    // The list is complete: an own request missing from it was decided.
    for (const id of [...state.mine.keys()]) if (!byID.has(id)) state.mine.delete(id);
  } else {
    // This session's own requests stay visible (to break glass) when the
    // list cannot be read without role.admin.
    for (const [id, e] of state.mine) if (e.status === 'pending') byID.set(id, e);
  }
  renderElevations([...byID.values()]);
  if (refused && !byID.size) {
    fail('elevations-alert', refused);
  } else if (refused) {
    showProblem($('elevations-alert'), new Problem({title: 'Only your own requests are shown', detail: refused.detail || refused.title}));
  }
}

function renderElevations(list) {
  const tbody = $('elevations-table').querySelector('tbody');
  $('elevations-empty').classList.toggle('hidden', list.length > 0);
  if (!list.length) {
    tbody.replaceChildren();
    return;
  }
  tbody.replaceChildren(...list.map((e) => {
    const own = state.me && e.requested_by === state.me.id;
    const pending = e.status === 'pending';
    const st = pending ? badge('pending', 'warn') : badge(e.status, e.status === 'approved' ? 'ok' : 'bad');
    return h('tr', {'data-elevation-id': e.id, 'data-requester': e.requested_by, 'data-role': e.role},
      h('td', {}, userLabel(e.requested_by), own ? h('span', {class: 'muted'}, ' (you)') : null),
      h('td', {}, badge(e.role, 'neutral')),
      h('td', {class: 'reason'}, e.reason),
      h('td', {}, duration(e.duration_seconds)),
      h('td', {}, fmtTime(e.requested_at)),
      h('td', {}, st),
      h('td', {class: 'row-actions'}, pending ? [
        h('button', {type: 'button', class: 'primary', id: `approve-${idPart(e.id)}`, 'aria-label': `Approve ${e.role} for ${userLabel(e.requested_by)}`,
          onclick: (ev) => approve(ev.currentTarget, e)}, 'Approve'),
        h('button', {type: 'button', class: 'secondary', id: `deny-${idPart(e.id)}`, 'aria-label': `Deny ${e.role} for ${userLabel(e.requested_by)}`,
          onclick: (ev) => deny(ev.currentTarget, e)}, 'Deny'),
        own ? h('button', {type: 'button', class: 'danger', id: `breakglass-${idPart(e.id)}`, 'aria-label': `Break glass: approve your own ${e.role} request`,
          onclick: (ev) => breakGlass(ev.currentTarget, e)}, 'Break glass') : null,
      ] : null));
  }));
}

async function onRequestElevation(ev) {
  ev.preventDefault();
  clearAlert('elevations-alert');
  const reason = $('elevation-reason').value.trim();
  if (!reason) {
    fail('elevations-alert', new Problem({title: 'Missing reason', detail: 'Say why you need the role: the approver and the audit log read it.'}));
    return;
  }
  const body = {role: $('elevation-role').value, reason, duration_seconds: Number($('elevation-duration').value)};
  try {
    const e = await busy($('elevation-submit'), () => withStepUp(() => api('POST', '/v1/elevations', {json: body})));
    state.mine.set(e.id, e);
    $('elevation-reason').value = '';
    notice(`Your request for ${e.role} is waiting for another administrator's approval.`);
    await loadElevations();
  } catch (err) {
    fail('elevations-alert', err);
  }
}

async function decided(e, status) {
  const mine = state.mine.get(e.id);
  if (mine) mine.status = status;
  await loadElevations();
  state.loaded.delete('users'); // grants changed
}

async function approve(button, e) {
  clearAlert('elevations-alert');
  const own = state.me && e.requested_by === state.me.id;
  const ok = await confirmAction({
    title: `Approve ${e.role} for ${userLabel(e.requested_by)}?`,
    text: own
      ? `This is your own request. Separation of duties refuses it unless you are on the break-glass list, and then it raises an alert. Reason given: “${e.reason}”.`
      : `They hold ${e.role} for ${duration(e.duration_seconds)} from now. Reason given: “${e.reason}”.`,
    ok: 'Approve', danger: own,
  });
  if (!ok) return;
  try {
    await busy(button, () => withStepUp(() => api('POST', `/v1/elevations/${encodeURIComponent(e.id)}/approve`)));
    notice(`Approved: ${userLabel(e.requested_by)} holds ${e.role} for ${duration(e.duration_seconds)}.`);
    await decided(e, 'approved');
  } catch (err) {
    fail('elevations-alert', err);
  }
}

async function deny(button, e) {
  clearAlert('elevations-alert');
  const ok = await confirmAction({title: `Deny ${e.role} for ${userLabel(e.requested_by)}?`, text: 'The request ends; they may ask again.', ok: 'Deny'});
  if (!ok) return;
  try {
    await busy(button, () => withStepUp(() => api('POST', `/v1/elevations/${encodeURIComponent(e.id)}/deny`)));
    notice(`Denied: ${e.role} for ${userLabel(e.requested_by)}.`);
    await decided(e, 'denied');
  } catch (err) {
    fail('elevations-alert', err);
  }
}

async function breakGlass(button, e) {
  clearAlert('elevations-alert');
  const ok = await confirmAction({
    title: 'Break glass?',
    text: `You approve your own request for ${e.role}. This is for emergencies only: it raises an alert and the audit log records it as break-glass.`,
    ok: 'Break glass',
  });
  if (!ok) return;
  try {
    await busy(button, () => withStepUp(() => api('POST', `/v1/elevations/${encodeURIComponent(e.id)}/break-glass`)));
    notice(`Break-glass approval recorded: you hold ${e.role} for ${duration(e.duration_seconds)}. An alert was raised.`);
    await decided(e, 'approved');
  } catch (err) {
    fail('elevations-alert', err);
  }
}

// ---- (4) keys and certificates ---------------------------------------------

/** "expires in N days" with a badge: warn under 30 days, bad once past. */
function expiry(notAfter) {
  if (!notAfter) return h('span', {class: 'muted'}, '—');
  const ms = Date.parse(notAfter) - Date.now();
  const days = Math.floor(ms / DAY);
  let b;
  if (ms <= 0) b = badge(`expired ${Math.max(1, Math.ceil(-ms / DAY))} day(s) ago`, 'bad');
  else if (days < 30) b = badge(days === 0 ? 'expires today' : `expires in ${days} day${days === 1 ? '' : 's'}`, 'warn');
  else b = badge(`expires in ${days} days`, 'ok');
  return h('span', {class: 'expiry'}, b, h('div', {class: 'muted small'}, fmtTime(notAfter)));
}

function statusBadge(s) {
  const v = String(s || 'unknown');
  const kind = v === 'active' ? 'ok' : ['revoked', 'expired'].includes(v) ? 'bad' : 'neutral';
  return badge(v, kind);
}

/** Whether revoking c is offered: an unrevoked certificate still valid. */
function revocable(c) {
  return c && c.serial && (c.status === 'active' || c.status === 'retired');
}

async function loadKeys() {
  clearAlert('keys-alert');
  const tbody = $('keys-table').querySelector('tbody');
  try {
    const res = await api('GET', '/v1/keys');
    const keys = res.keys || [];
    if (!keys.length) {
      empty(tbody, 6, 'No key.');
      return;
    }
    // One row per key version, newest first within each key.
    tbody.replaceChildren(...keys.map((k) => {
      const c = k.certificate || null;
      const acts = [];
      if (k.rotatable) {
        acts.push(h('button', {type: 'button', class: 'secondary', id: `rotate-key-${idPart(k.id)}`, 'aria-label': `Rotate the ${k.purpose} key`,
          onclick: (ev) => rotateKey(ev.currentTarget, k)}, 'Rotate'));
      }
      if (revocable(c)) {
        acts.push(h('button', {type: 'button', class: 'danger', id: `revoke-cert-${idPart(c.serial)}`, 'aria-label': `Revoke the certificate of the ${k.purpose} key, version ${k.version}`,
          onclick: (ev) => revokeCert(ev.currentTarget, k, c)}, 'Revoke certificate'));
      }
      const status = [statusBadge(k.status)];
      if (k.revocation_reason) status.push(h('div', {class: 'muted small'}, k.revocation_reason));
      return h('tr', {'data-key-id': k.id, 'data-version': String(k.version), 'data-purpose': k.purpose, 'data-status': k.status},
        h('td', {}, h('div', {class: 'key-purpose'}, k.purpose), k.label ? h('div', {class: 'small'}, k.label) : null,
          h('div', {class: 'muted mono small'}, `${k.id} · v${k.version}`),
          h('div', {class: 'muted small'}, `created ${fmtTime(k.created_at)}`)),
        h('td', {}, h('div', {}, k.algorithm), h('div', {class: 'muted small'}, `${k.backend} backend`)),
        h('td', {}, status),
        h('td', {}, c ? [h('div', {}, c.subject || ''), h('div', {class: 'muted mono small'}, `serial ${c.serial}`),
          statusBadge(c.status), c.revocation_reason ? h('span', {class: 'muted small'}, ` ${c.revocation_reason}`) : null]
          : h('span', {class: 'muted'}, 'none (not certified)')),
        h('td', {}, c && c.status !== 'revoked' ? expiry(c.not_after) : h('span', {class: 'muted'}, '—')),
        h('td', {class: 'row-actions'}, acts));
    }));
  } catch (err) {
    empty(tbody, 6, 'The keys cannot be listed.');
    fail('keys-alert', err);
  }
}

async function rotateKey(button, k) {
  clearAlert('keys-alert');
  const ok = await confirmAction({
    title: `Rotate the ${k.purpose} key?`,
    text: 'A new version of the key takes over for new operations; what the old version signed or sealed stays verifiable and readable.',
    ok: 'Rotate key', danger: false,
  });
  if (!ok) return;
  try {
    const res = await busy(button, () => withStepUp(() => api('POST', `/v1/keys/${encodeURIComponent(k.id)}/rotate`, {json: {}})));
    const active = ((res && res.keys) || []).find((v) => v.status === 'active');
    notice(`The ${k.purpose} key is rotated${active ? `: version ${active.version} is now active` : ''}.`);
    await loadKeys();
  } catch (err) {
    fail('keys-alert', err);
  }
}

async function revokeCert(button, k, c) {
  clearAlert('keys-alert');
  const reason = await confirmAction({
    title: `Revoke the ${k.purpose} certificate?`,
    text: `Certificate ${c.serial} (${c.subject || k.purpose}) is revoked at once and published as revoked. Choose the reason.`,
    ok: 'Revoke certificate', withReason: true,
  });
  if (!reason) return;
  try {
    await busy(button, () => withStepUp(() => api('POST', `/v1/certificates/${encodeURIComponent(c.serial)}/revoke`, {json: {reason}})));
    notice(`Certificate ${c.serial} is revoked (${reason}).`);
    await loadKeys();
  } catch (err) {
    fail('keys-alert', err);
  }
}

// ---- (5) audit log ----------------------------------------------------------

async function loadCheckpoint() {
  try {
    const cp = await api('GET', '/v1/audit/checkpoint');
    $('checkpoint-size').textContent = String(cp.size);
    $('checkpoint-root').textContent = cp.root_hash || '';
    $('checkpoint-settled').textContent = cp.settled_size === undefined || cp.settled_size === null ? '—' : String(cp.settled_size);
    $('checkpoint-text').textContent = cp.checkpoint || '';
    const anchors = cp.anchors || [];
    $('anchors-empty').classList.toggle('hidden', anchors.length > 0);
    $('anchors-table').querySelector('tbody').replaceChildren(...anchors.map((a) => h('tr', {'data-kind': a.kind},
      h('td', {}, a.kind), h('td', {}, fmtTime(a.time)), h('td', {}, a.size === undefined ? '' : String(a.size)))));
  } catch (err) {
    fail('audit-alert', err);
  }
}

/** An event's actor: a known user by e-mail address, else its id, and
 *  its kind. */
function actorCell(a) {
  if (!a) return h('td', {});
  const id = a.id || '';
  const u = state.usersByID.get(id);
  return h('td', {class: 'wide'},
    h('div', {class: u ? '' : 'mono small'}, u ? u.email : id),
    a.kind ? h('div', {class: 'muted small'}, a.kind) : null);
}

function subjectText(s) {
  if (!s) return '';
  if (typeof s !== 'object') return String(s);
  return Object.entries(s).filter(([, v]) => v !== '' && v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
}

function eventRow(e) {
  const outcome = e.outcome === 'success' ? badge('success', 'ok') : badge(e.outcome || '—', e.outcome ? 'bad' : 'neutral');
  return h('tr', {'data-index': String(e.index), 'data-type': e.type},
    h('td', {class: 'num'}, String(e.index)),
    h('td', {class: 'time'}, fmtTime(e.time)),
    h('td', {class: 'mono nowrap'}, e.type),
    actorCell(e.actor),
    h('td', {class: 'mono small wide'}, subjectText(e.subject)),
    h('td', {}, outcome),
    h('td', {}, e.anchored ? badge('anchored', 'ok') : badge('not yet', 'warn')));
}

async function loadEvents(more) {
  clearAlert('audit-alert');
  const tbody = $('audit-table').querySelector('tbody');
  const q = new URLSearchParams({limit: String(AUDIT_PAGE)});
  if (more && state.audit.next !== null) q.set('after', String(state.audit.next));
  if (state.audit.envelope) q.set('envelope', state.audit.envelope);
  try {
    const res = await busy($('audit-more'), () => api('GET', `/v1/audit/events?${q}`));
    const rows = (res.events || []).map(eventRow);
    if (more) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    state.audit.next = res.next === undefined ? null : res.next;
    $('audit-more').classList.toggle('hidden', state.audit.next === null);
    $('audit-empty').classList.toggle('hidden', tbody.children.length > 0);
  } catch (err) {
    if (!more) tbody.replaceChildren();
    fail('audit-alert', err);
  }
}

async function loadAudit() {
  clearAlert('audit-alert');
  await ensureUsers();
  await Promise.all([loadCheckpoint(), loadEvents(false)]);
}

// ---- (6) access review ------------------------------------------------------

async function loadReview() {
  clearAlert('review-alert');
  const tbody = $('review-table').querySelector('tbody');
  try {
    const rv = await api('GET', '/v1/access-review?format=json');
    $('review-generated').textContent = `Tenant ${rv.tenant}, generated ${fmtTime(rv.generated_at)}.`;
    const ps = rv.principals || [];
    if (!ps.length) {
      empty(tbody, 8, 'Nobody.');
      return;
    }
    tbody.replaceChildren(...ps.map((p) => h('tr', {'data-principal-id': p.id, 'data-kind': p.kind},
      h('td', {}, p.kind === 'user' ? 'user' : 'API key'),
      h('td', {}, p.name || p.id),
      h('td', {}, p.email || ''),
      h('td', {}, badge(p.status, p.status === 'active' ? 'ok' : 'bad')),
      h('td', {}, (p.roles || []).length ? p.roles.map((r) => badge(r, 'neutral')) : h('span', {class: 'muted'}, 'none')),
      h('td', {}, !p.mfa || p.mfa.status === 'not-applicable' ? h('span', {class: 'muted'}, '—')
        : p.mfa.status === 'none' ? badge('none', 'warn') : p.mfa.status),
      h('td', {}, p.last_used ? fmtTime(p.last_used) : 'never'),
      h('td', {}, fmtTime(p.created_at)))));
  } catch (err) {
    empty(tbody, 8, 'The review cannot be built.');
    fail('review-alert', err);
  }
}

async function exportReview() {
  clearAlert('review-alert');
  try {
    const blob = await busy($('review-export'), () => api('GET', '/v1/access-review?format=csv', {accept: 'blob'}));
    const day = new Date().toISOString().slice(0, 10);
    saveBlob(blob, `access-review-${day}.csv`);
    notice('The access review is downloaded as CSV.');
  } catch (err) {
    fail('review-alert', err);
  }
}

// ---- (7) webhooks -----------------------------------------------------------

function fillWebhookEvents() {
  const fs = $('webhook-events');
  if (fs.querySelector('input')) return;
  for (const ev of WEBHOOK_EVENTS) {
    const id = `webhook-event-${idPart(ev)}`;
    fs.appendChild(h('span', {class: 'check'}, h('input', {type: 'checkbox', id, value: ev}), h('label', {for: id}, ev)));
  }
}

function showWebhookSecret(text, secret) {
  $('webhook-secret-text').textContent = text;
  $('webhook-secret').value = secret;
  $('webhook-secret-panel').classList.remove('hidden');
  $('webhook-secret').focus();
  $('webhook-secret').select();
}

function hideWebhookSecret() {
  $('webhook-secret').value = '';
  $('webhook-secret-panel').classList.add('hidden');
}

async function loadWebhooks() {
  fillWebhookEvents();
  clearAlert('webhooks-alert');
  const tbody = $('webhooks-table').querySelector('tbody');
  try {
    const res = await api('GET', '/v1/webhooks');
    const list = res.webhooks || [];
    if (!list.length) {
      empty(tbody, 5, 'No endpoint yet.');
      return;
    }
    tbody.replaceChildren(...list.map((e) => h('tr', {'data-webhook-id': e.id},
      h('td', {class: 'mono small wide'}, e.url),
      h('td', {class: 'small'}, (e.events || []).join(', ')),
      h('td', {}, e.enabled ? badge('enabled', 'ok') : badge('disabled', 'neutral'), ' ', e.failing ? badge('failing', 'bad') : null,
        e.rotation_ends_at ? h('div', {class: 'muted small'}, `previous secret valid until ${fmtTime(e.rotation_ends_at)}`) : null),
      h('td', {}, fmtTime(e.created_at)),
      h('td', {class: 'row-actions'},
        h('button', {type: 'button', class: 'secondary', id: `deliveries-${idPart(e.id)}`, onclick: (ev) => loadDeliveries(ev.currentTarget, e)}, 'Deliveries'),
        h('button', {type: 'button', class: 'secondary', id: `rotate-webhook-${idPart(e.id)}`, onclick: (ev) => rotateWebhook(ev.currentTarget, e)}, 'New secret'),
        h('button', {type: 'button', class: 'danger', id: `delete-webhook-${idPart(e.id)}`, onclick: (ev) => deleteWebhook(ev.currentTarget, e)}, 'Delete')))));
  } catch (err) {
    empty(tbody, 5, 'The endpoints cannot be listed.');
    fail('webhooks-alert', err);
  }
}

async function onCreateWebhook(ev) {
  ev.preventDefault();
  clearAlert('webhooks-alert');
  hideWebhookSecret();
  const url = $('webhook-url').value.trim();
  const events = checkedValues($('webhook-events'));
  if (!url || !events.length) {
    fail('webhooks-alert', new Problem({title: 'Missing details', detail: 'Give the HTTPS address and at least one event.'}));
    return;
  }
  try {
    const e = await busy($('webhook-submit'), () => withStepUp(() => api('POST', '/v1/webhooks', {json: {url, events}})));
    $('webhook-form').reset();
    showWebhookSecret(`Store this secret with the receiver of ${e.url}: it verifies the signatures of the deliveries (Standard Webhooks). It is shown this once.`, e.secret);
    notice('The endpoint is added.');
    await loadWebhooks();
  } catch (err) {
    fail('webhooks-alert', err);
  }
}

async function rotateWebhook(button, e) {
  clearAlert('webhooks-alert');
  const ok = await confirmAction({title: 'Give the endpoint a new secret?', text: `Deliveries to ${e.url} are signed with both secrets for a while, then with the new one only.`, ok: 'New secret', danger: false});
  if (!ok) return;
  try {
    const r = await busy(button, () => withStepUp(() => api('POST', `/v1/webhooks/${encodeURIComponent(e.id)}/rotate-secret`)));
    showWebhookSecret(`The new secret of ${e.url}, shown this once. The previous one stays valid until ${fmtTime(r.previous_valid_until)}.`, r.secret);
    await loadWebhooks();
  } catch (err) {
    fail('webhooks-alert', err);
  }
}

async function deleteWebhook(button, e) {
  clearAlert('webhooks-alert');
  const ok = await confirmAction({title: 'Delete the endpoint?', text: `${e.url} receives no more events.`, ok: 'Delete'});
  if (!ok) return;
  try {
    await busy(button, () => withStepUp(() => api('DELETE', `/v1/webhooks/${encodeURIComponent(e.id)}`)));
    notice('The endpoint is deleted.');
    $('deliveries').classList.add('hidden');
    await loadWebhooks();
  } catch (err) {
    fail('webhooks-alert', err);
  }
}

async function loadDeliveries(button, e) {
  clearAlert('webhooks-alert');
  try {
    const res = await busy(button, () => api('GET', `/v1/webhooks/${encodeURIComponent(e.id)}/deliveries?limit=50`));
    const ds = res.deliveries || [];
    $('deliveries-title').textContent = `Deliveries to ${e.url}`;
    const tbody = $('deliveries-table').querySelector('tbody');
    if (!ds.length) empty(tbody, 5, 'No delivery yet.');
    else {
      tbody.replaceChildren(...ds.map((d) => {
        const last = (d.attempts || [])[d.attempts.length - 1];
        return h('tr', {'data-delivery-id': d.id},
          h('td', {class: 'mono small'}, d.id),
          h('td', {}, d.type),
          h('td', {}, badge(d.status, d.status === 'delivered' ? 'ok' : d.status === 'dead' ? 'bad' : 'warn'),
            d.next_attempt_at ? h('div', {class: 'muted small'}, `next try ${fmtTime(d.next_attempt_at)}`) : null),
          h('td', {}, fmtTime(d.created_at)),
          h('td', {class: 'small'}, last ? `#${last.n} ${fmtTime(last.at)}${last.status_code ? ` · HTTP ${last.status_code}` : ''}${last.error ? ` · ${last.error}` : ''}` : '—'));
      }));
    }
    $('deliveries').classList.remove('hidden');
  } catch (err) {
    fail('webhooks-alert', err);
  }
}

// ---- wiring -------------------------------------------------------------

const LOADERS = {
  users: () => {
    loadRoles();
    return loadUsers();
  },
  'api-keys': loadAPIKeys,
  elevations: loadElevations,
  keys: loadKeys,
  audit: loadAudit,
  review: loadReview,
  webhooks: loadWebhooks,
};

function wire() {
  $('login-form').addEventListener('submit', onLogin);
  $('totp-form').addEventListener('submit', onTOTP);
  $('redeem-form').addEventListener('submit', onRedeem);
  $('logout').addEventListener('click', onLogout);
  $('admin-nav').addEventListener('keydown', onTabKey);
  window.addEventListener('hashchange', () => {
    const m = location.hash.match(/^#invitation=(.+)$/);
    if (m) showRedeem(decodeURIComponent(m[1]));
    else route();
  });

  $('invite-form').addEventListener('submit', onInvite);
  $('invite-copy').addEventListener('click', () => copy($('invite-link')));
  $('invite-done').addEventListener('click', () => {
    $('invite-link').value = '';
    $('invite-result').classList.add('hidden');
  });
  $('grant-form').addEventListener('submit', onGrant);
  $('users-refresh').addEventListener('click', loadUsers);

  $('apikey-form').addEventListener('submit', onCreateAPIKey);
  $('apikey-copy').addEventListener('click', () => copy($('apikey-secret')));
  $('apikey-secret-done').addEventListener('click', hideSecret);
  $('apikeys-refresh').addEventListener('click', loadAPIKeys);

  $('elevation-form').addEventListener('submit', onRequestElevation);
  $('elevations-refresh').addEventListener('click', loadElevations);

  $('keys-refresh').addEventListener('click', loadKeys);

  $('checkpoint-refresh').addEventListener('click', loadCheckpoint);
  $('audit-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.audit.envelope = $('audit-envelope').value.trim();
    state.audit.next = null;
    loadEvents(false);
  });
  $('audit-filter-clear').addEventListener('click', () => {
    $('audit-envelope').value = '';
    state.audit.envelope = '';
    state.audit.next = null;
    loadEvents(false);
  });
  $('audit-more').addEventListener('click', () => loadEvents(true));

  $('review-refresh').addEventListener('click', loadReview);
  $('review-export').addEventListener('click', exportReview);

  $('webhook-form').addEventListener('submit', onCreateWebhook);
  $('webhook-copy').addEventListener('click', () => copy($('webhook-secret')));
  $('webhook-secret-done').addEventListener('click', hideWebhookSecret);
  $('webhooks-refresh').addEventListener('click', loadWebhooks);
}

wire();
const inv = location.hash.match(/^#invitation=(.+)$/);
if (inv) showRedeem(decodeURIComponent(inv[1]));
else enter();
