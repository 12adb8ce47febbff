// The sender console: log in (password, then a second factor, or the
// enrolment of an authenticator app and recovery codes), the
// envelopes list, a new envelope (upload, recipients, fields placed on
// the rendered pages, send) and one envelope's detail (recipients,
// remind, void, re-issue, downloads, the timeline with anchoring).
//
// Views are sections of index.html shown one at a time, chosen by the
// location hash: #/envelopes, #/new, #/envelopes/<id>. All data come from
// the JSON API through signet.js; no HTML is ever built from data.
//
// Placed fields are kept in PDF points with a lower-left origin (the
// envelope API's unit); their boxes on screen are derived from the page's
// scale: left = x*scale, top = (pageHeight - y - height)*scale.

import { api, Problem, setCSRF, clearCSRF, h, showProblem, saveBlob, fmtTime } from '/static/signet.js';
import { renderPDF } from '/static/pdfview.js';

const $ = (id) => document.getElementById(id);

// The most placed fields one envelope may get from the console.
const MAX_FIELDS = 200;
// Default sizes of a new field, in points.
const SIZES = {
  signature: { w: 180, h: 40 },
  initials: { w: 60, h: 36 },
  date: { w: 100, h: 20 },
  text: { w: 160, h: 20 },
};
const KINDS = [['signature', 'Signature'], ['initials', 'Initials'], ['date', 'Date'], ['text', 'Text']];
// Smallest field, in points.
const MIN_W = 16;
const MIN_H = 10;
// Recipient colours are classes rcp-0 .. rcp-(COLOURS-1) in console.css.
const COLOURS = 6;
// Roles that act (fill fields); a cc only receives the result.
const ACTING = new Set(['signer', 'approver']);
// Actions that make the administration console useful.
const ADMIN_ACTIONS = new Set(['user.admin', 'role.admin', 'policy.admin', 'webhook.admin', 'apikey.read',
  'apikey.admin', 'access.review', 'audit.read', 'audit.export', 'key.admin']);
const ADMIN_ROLES = new Set(['tenant-admin', 'auditor', 'key-custodian']);

const STATUS_LABEL = {
  draft: 'Draft', awaiting_approval: 'Awaiting approval', sent: 'Sent', in_progress: 'In progress',
  completed: 'Completed', declined: 'Declined', voided: 'Voided', expired: 'Expired',
  waiting: 'Waiting', active: 'Their turn',
};

let me = null; // the session (GET /v1/auth/session), null when logged out

// ---------------------------------------------------------------- helpers

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

function show(el, on) {
  el.classList.toggle('hidden', !on);
}

function badgeClass(status) {
  switch (status) {
    case 'completed': return 'badge ok';
    case 'sent': case 'in_progress': case 'awaiting_approval': case 'active': return 'badge warn';
    case 'declined': case 'voided': case 'expired': return 'badge bad';
    default: return 'badge';
  }
}

function badge(status, id) {
  const b = h('span', { class: badgeClass(status) }, STATUS_LABEL[status] || status);
  if (id) b.id = id;
  return b;
}

function problemType(p) {
  return p && typeof p.type === 'string' ? p.type.slice(p.type.lastIndexOf('/') + 1) : '';
}

// retryAfter returns the Retry-After seconds a problem carries (signet.js
// reads the header into Problem.retryAfter), 0 if none.
function retryAfter(p) {
  const n = p instanceof Problem ? p.retryAfter : null;
  return Number.isInteger(n) && n > 0 ? n : 0;
}

function inWords(secs) {
  if (secs < 90) return `${secs} seconds`;
  const m = Math.ceil(secs / 60);
  return m < 90 ? `${m} minutes` : `${Math.ceil(m / 60)} hours`;
}

function report(container, err) {
  if (err instanceof Problem) {
    showProblem(container, err);
  } else {
    showProblem(container, new Problem({ status: 0, title: 'Something went wrong', detail: String(err && err.message || err) }));
  }
}

function message(container, text) {
  clear(container);
  container.append(h('div', { class: 'alert', role: 'alert' }, text));
}

// flash shows a short message until the next view after the one it was
// shown on.
let flashShown = false;

function flash(text) {
  const f = $('flash');
  f.textContent = text;
  show(f, !!text);
  flashShown = !!text;
}

// call is api() for a logged-in page: a 401 other than a step-up demand
// means the session ended, and the login view comes back.
async function call(method, path, opts) {
  try {
    return await api(method, path, opts);
  } catch (e) {
    if (e instanceof Problem && e.status === 401 && problemType(e) !== 'step-up-required') {
      sessionEnded();
    }
    throw e;
  }
}

// ---------------------------------------------------------------- login

function showLoginStep(step) {
  show($('login-form'), step === 'password');
  show($('mfa-form'), step === 'mfa');
  show($('mfa-enrol'), step === 'enrol');
  show($('enrol-recovery'), step === 'recovery');
  forgetEnrolment();
  if (step !== 'recovery') clear($('recovery-codes'));
  if (step === 'password') $(localStorage.getItem('signet.tenant') ? 'login-email' : 'login-tenant').focus();
  if (step === 'mfa') $('mfa-code').focus();
  if (step === 'enrol') beginEnrol();
}

function showLogin(step = 'password') {
  me = null;
  show($('top-nav'), false);
  for (const v of document.querySelectorAll('.view')) show(v, v.id === 'view-login');
  const t = localStorage.getItem('signet.tenant');
  if (t && !$('login-tenant').value) $('login-tenant').value = t;
  showLoginStep(step);
}

function sessionEnded() {
  clearCSRF();
  if (me) {
    flash('Your session has ended. Please log in again.');
    if (me.user) {
      $('login-email').value = me.user.email;
      $('login-tenant').value = me.user.tenant;
    }
  }
  showLogin();
  if ($('login-email').value) $('login-password').focus();
}

function loginProblem(err) {
  const box = $('login-error');
  if (err instanceof Problem && err.status === 429) {
    $('login-password').value = '';
    const secs = retryAfter(err);
    message(box, 'Too many failed attempts: this account is locked for now.' +
      (secs ? ` Try again in ${inWords(secs)}.` : ' Try again later.'));
    return;
  }
  if (err instanceof Problem && problemType(err) === 'invalid-credentials') {
    $('login-password').value = '';
    $('login-password').focus();
    message(box, 'The organization, e-mail address or password is wrong.');
    return;
  }
  if (err instanceof Problem && problemType(err) === 'invalid-code') {
    message(box, 'That code is wrong, expired or already used.');
    return;
  }
  report(box, err);
}

async function onLogin(ev) {
  ev.preventDefault();
  const box = $('login-error');
  clear(box);
  const tenant = $('login-tenant').value.trim();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  if (!tenant || !email || !password) {
    message(box, 'Enter your organization, e-mail address and password.');
    return;
  }
  $('login-submit').disabled = true;
  try {
    const s = await api('POST', '/v1/auth/login', { json: { tenant, email, password } });
    setCSRF(s.csrf_token);
    localStorage.setItem('signet.tenant', tenant);
    $('login-password').value = '';
    if (s.mfa === 'required') {
      showLoginStep('mfa');
    } else if (s.mfa === 'enrol') {
      showLoginStep('enrol');
    } else {
      await loggedIn();
    }
  } catch (e) {
    loginProblem(e);
  } finally {
    $('login-submit').disabled = false;
  }
}

async function onMFA(ev) {
  ev.preventDefault();
  const box = $('login-error');
  clear(box);
  const code = $('mfa-code').value.replace(/\s+/g, '');
  if (!code) {
    message(box, 'Enter the code.');
    return;
  }
  const path = $('mfa-recovery').checked ? '/v1/auth/mfa/recovery' : '/v1/auth/mfa/totp';
  $('mfa-submit').disabled = true;
  try {
    const s = await api('POST', path, { json: { code } });
    setCSRF(s.csrf_token);
    $('mfa-code').value = '';
    await loggedIn();
  } catch (e) {
    if (e instanceof Problem && e.status === 401 && problemType(e) !== 'invalid-code') {
      clearCSRF();
      showLoginStep('password');
      message(box, 'Your login has expired. Please start again.');
      return;
    }
    loginProblem(e);
  } finally {
    $('mfa-submit').disabled = false;
  }
}

function onRecoveryToggle() {
  const rec = $('mfa-recovery').checked;
  $('mfa-code-label').textContent = rec ? 'Recovery code' : 'Authentication code';
  $('mfa-help').textContent = rec ? 'Enter one of your unused recovery codes.' : 'Enter the 6-digit code from your authenticator app.';
  $('mfa-code').inputMode = rec ? 'text' : 'numeric';
}

async function onMFACancel() {
  try {
    await api('POST', '/v1/auth/logout');
  } catch {
    // the pending session ends with its timeout anyway
  }
  clearCSRF();
  clear($('login-error'));
  showLoginStep('password');
}

// ---------------------------------------------------------------- enrolment

// parseOTPAuth reads the account, issuer and base32 secret of a TOTP
// provisioning URI (otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...).
function parseOTPAuth(uri) {
  const u = new URL(uri);
  if (u.protocol !== 'otpauth:') throw new Error('the enrolment is not an otpauth URI');
  const label = decodeURIComponent(u.pathname.replace(/^\/+/, ''));
  const i = label.indexOf(':');
  return {
    secret: u.searchParams.get('secret') || '',
    issuer: u.searchParams.get('issuer') || (i >= 0 ? label.slice(0, i) : ''),
    account: i >= 0 ? label.slice(i + 1) : label,
  };
}

// groupSecret writes a base32 secret in groups of four characters, as
// authenticator apps accept it typed in.
function groupSecret(secret) {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

// forgetEnrolment removes a shown TOTP secret from the page.
function forgetEnrolment() {
  show($('enrol-setup'), false);
  $('totp-secret').textContent = '';
  $('totp-account').textContent = '';
  $('totp-issuer').textContent = '';
  $('totp-uri').setAttribute('href', '#mfa-enrol');
  $('enrol-code').value = '';
}

let enrolling = false;

// beginEnrol starts a TOTP enrolment (replacing an unconfirmed one) and
// shows its secret for the authenticator app.
async function beginEnrol() {
  const box = $('login-error');
  $('enrol-title').focus();
  if (enrolling) return;
  enrolling = true;
  try {
    const e = await api('POST', '/v1/me/mfa/totp');
    const t = parseOTPAuth(e.otpauth_uri);
    if (!t.secret) throw new Error('the enrolment carries no secret');
    $('totp-account').textContent = t.account;
    $('totp-issuer').textContent = t.issuer;
    $('totp-secret').textContent = groupSecret(t.secret);
    $('totp-uri').setAttribute('href', e.otpauth_uri);
    show($('enrol-setup'), true);
    $('enrol-title').focus();
  } catch (e) {
    if (e instanceof Problem && e.status === 401) {
      clearCSRF();
      showLoginStep('password');
      message(box, 'Your login has expired. Please start again.');
      return;
    }
    report(box, e);
  } finally {
    enrolling = false;
  }
}

// onEnrol confirms the enrolment with a first code (which completes the
// login under a new session), then issues recovery codes.
async function onEnrol(ev) {
  ev.preventDefault();
  const box = $('login-error');
  clear(box);
  const code = $('enrol-code').value.replace(/\s+/g, '');
  if (!/^[0-9]{6,8}$/.test(code)) {
    message(box, 'Enter the 6-digit code from your authenticator app.');
    $('enrol-code').focus();
    return;
  }
  $('enrol-submit').disabled = true;
  try {
    const s = await api('POST', '/v1/me/mfa/totp/confirm', { json: { code } });
    setCSRF(s.csrf_token);
    showLoginStep('recovery');
    await issueRecoveryCodes();
  } catch (e) {
    if (e instanceof Problem && e.status === 401 && problemType(e) !== 'invalid-code') {
      clearCSRF();
      showLoginStep('password');
      message(box, 'Your login has expired. Please start again.');
      return;
    }
    loginProblem(e);
    $('enrol-code').value = '';
    $('enrol-code').focus();
  } finally {
    $('enrol-submit').disabled = false;
  }
}

// issueRecoveryCodes shows new recovery codes, this once: the login just
// authenticated strongly, as issuing them requires.
async function issueRecoveryCodes() {
  const list = $('recovery-codes');
  const box = $('recovery-error');
  clear(list);
  clear(box);
  $('recovery-done').textContent = 'I have saved these codes';
  $('recovery-title').focus();
  try {
    const r = await api('POST', '/v1/me/recovery-codes');
    for (const c of r.codes || []) list.append(h('li', { class: 'mono' }, c));
  } catch (e) {
    report(box, e);
    $('recovery-done').textContent = 'Continue';
  }
}

async function onRecoveryDone() {
  clear($('recovery-codes'));
  clear($('recovery-error'));
  try {
    await loggedIn();
  } catch (e) {
    if (!(e instanceof Problem && e.status === 401)) report($('login-error'), e);
    showLogin();
  }
}

function canAdmin(s) {
  if (!s) return false;
  if (Array.isArray(s.roles) && s.roles.some((r) => ADMIN_ROLES.has(typeof r === 'string' ? r : r.role || r.name))) return true;
  if (Array.isArray(s.actions) && s.actions.some((a) => ADMIN_ACTIONS.has(a))) return true;
  return s.admin === true;
}

async function loggedIn() {
  me = await api('GET', '/v1/auth/session');
  if (me.pending) {
    showLogin(me.mfa === 'enrol' ? 'enrol' : 'mfa');
    return;
  }
  clear($('login-error'));
  flash('');
  show($('top-nav'), true);
  $('user-email').textContent = me.user ? me.user.email : '';
  show($('nav-admin'), canAdmin(me));
  if (!location.hash || location.hash === '#/login') {
    location.hash = '#/envelopes';
  } else {
    route();
  }
}

async function onLogout() {
  try {
    await api('POST', '/v1/auth/logout');
  } catch {
    // the cookie is dropped below either way
  }
  clearCSRF();
  me = null;
  location.hash = '#/login';
  showLogin();
}

// ---------------------------------------------------------------- routing

function showView(id) {
  for (const v of document.querySelectorAll('.view')) show(v, v.id === id);
  for (const a of document.querySelectorAll('#top-nav a')) {
    if (a.getAttribute('href') === location.hash) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function route() {
  if (!me) return;
  if (flashShown) flashShown = false;
  else flash('');
  const hash = location.hash || '#/envelopes';
  let m;
  if (hash === '#/new') {
    showView('view-new');
    startNew();
  } else if ((m = /^#\/envelopes\/([A-Za-z0-9_-]{1,100})$/.exec(hash))) {
    showView('view-detail');
    loadDetail(m[1]);
  } else {
    showView('view-envelopes');
    loadList();
  }
  $('main').focus({ preventScroll: true });
}

// ---------------------------------------------------------------- list

let listCursor = '';

function progress(e) {
  const acting = e.recipients.filter((r) => ACTING.has(r.role));
  const done = acting.filter((r) => r.status === 'completed').length;
  return `${done} of ${acting.length} signed`;
}

async function loadList(more = false) {
  const box = $('list-error');
  clear(box);
  const rows = $('envelope-rows');
  if (!more) {
    clear(rows);
    listCursor = '';
  }
  const q = new URLSearchParams({ limit: '50' });
  const status = $('envelope-filter').value;
  if (status) q.set('status', status);
  if (more && listCursor) q.set('cursor', listCursor);
  try {
    const res = await call('GET', '/v1/envelopes?' + q);
    for (const e of res.envelopes) {
      rows.append(h('tr', { 'data-id': e.id },
        h('td', {}, h('a', { href: '#/envelopes/' + e.id, id: 'open-' + e.id }, e.subject || '(no subject)')),
        h('td', {}, badge(e.status)),
        h('td', {}, progress(e)),
        h('td', {}, fmtTime(e.created_at)),
        h('td', {}, e.sent_at ? fmtTime(e.sent_at) : '—')));
    }
    listCursor = res.next_cursor || '';
    show($('list-more'), !!listCursor);
    show($('envelope-empty'), rows.children.length === 0);
  } catch (e) {
    report(box, e);
  }
}

// ---------------------------------------------------------------- new envelope

let draft = null;
let draftOwner = ''; // the user whose draft it is
let nextKey = 1;

function newDraft() {
  return {
    file: null, data: null, doc: null, pages: [], rendered: '',
    recipients: [{ key: nextKey++, name: '', email: '', role: 'signer', order: 1 }],
    fields: [],
  };
}

function startNew() {
  if (draft && draftOwner !== me.user.id) draft = null;
  if (!draft) {
    draft = newDraft();
    draftOwner = me.user.id;
  }
  clear($('new-error'));
  renderRecipients();
  step(draft.doc ? Math.max(currentStep, 1) : 1);
}

let currentStep = 1;

function step(n) {
  currentStep = n;
  for (let i = 1; i <= 4; i++) {
    show($('step-' + i), i === n);
    const tab = $('step-tab-' + i);
    if (i === n) tab.setAttribute('aria-current', 'step');
    else tab.removeAttribute('aria-current');
    tab.classList.toggle('done', i < n);
  }
  if (n === 3) enterPlacement();
  if (n === 4) renderReview();
}

// Upload.

async function takeFile(file) {
  const status = $('upload-status');
  clear($('new-error'));
  if (!file) return;
  if (file.type !== 'application/pdf' && !/\.pdf$/i.test(file.name)) {
    message($('new-error'), 'Please choose a PDF file.');
    return;
  }
  status.textContent = `Uploading ${file.name}…`;
  $('step-1-next').disabled = true;
  try {
    const data = await file.arrayBuffer();
    const doc = await call('POST', '/v1/documents?name=' + encodeURIComponent(file.name),
      { body: new Blob([data], { type: 'application/pdf' }) });
    draft.file = file;
    draft.data = data;
    draft.doc = doc;
    draft.fields = [];
    draft.rendered = '';
    status.textContent = `Uploaded ${doc.name} (${doc.pages} ${doc.pages === 1 ? 'page' : 'pages'}).`;
    if (!$('env-subject').value) $('env-subject').value = doc.name.replace(/\.pdf$/i, '');
    $('step-1-next').disabled = false;
    $('step-1-next').focus();
  } catch (e) {
    status.textContent = '';
    report($('new-error'), e);
  }
}

function wireUpload() {
  const drop = $('upload-drop');
  $('upload-file').addEventListener('change', (ev) => takeFile(ev.target.files[0]));
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    takeFile(ev.dataTransfer.files[0]);
  });
  drop.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      $('upload-file').click();
    }
  });
}

// Recipients.

function colourOf(key) {
  const i = draft.recipients.findIndex((r) => r.key === key);
  return 'rcp-' + ((i < 0 ? 0 : i) % COLOURS);
}

function recipientName(key) {
  const r = draft.recipients.find((x) => x.key === key);
  return r ? (r.name || r.email || 'recipient') : 'recipient';
}

function renderRecipients() {
  const list = $('recipient-list');
  clear(list);
  draft.recipients.forEach((r, i) => {
    const input = (field, attrs, value) => {
      const el = h('input', { id: `recipient-${field}-${i}`, ...attrs });
      el.value = value;
      el.addEventListener('input', () => {
        r[field] = field === 'order' ? Number.parseInt(el.value, 10) || 0 : el.value;
      });
      return el;
    };
    const role = h('select', { id: `recipient-role-${i}` },
      h('option', { value: 'signer' }, 'Signer'), h('option', { value: 'approver' }, 'Approver'), h('option', { value: 'cc' }, 'Receives a copy'));
    role.value = r.role;
    role.addEventListener('change', () => {
      r.role = role.value;
      if (!ACTING.has(r.role)) draft.fields = draft.fields.filter((f) => f.rkey !== r.key);
    });
    const who = `recipient ${i + 1}`;
    list.append(h('li', { class: 'recipient ' + colourOf(r.key), 'data-index': String(i) },
      h('div', { class: 'form-row' }, h('label', { for: `recipient-name-${i}` }, 'Name'),
        input('name', { autocomplete: 'off', maxlength: '200' }, r.name)),
      h('div', { class: 'form-row' }, h('label', { for: `recipient-email-${i}` }, 'E-mail address'),
        input('email', { type: 'email', autocomplete: 'off', maxlength: '254' }, r.email)),
      h('div', { class: 'form-row narrow-field' }, h('label', { for: `recipient-role-${i}` }, 'Role'), role),
      h('div', { class: 'form-row narrow-field' }, h('label', { for: `recipient-order-${i}` }, 'Routing order'),
        input('order', { type: 'number', min: '1', max: '100' }, String(r.order))),
      h('div', { class: 'recipient-tools' },
        h('button', { type: 'button', class: 'secondary small', id: `recipient-up-${i}`, 'aria-label': `Move ${who} up`,
          onclick: () => moveRecipient(i, -1) }, '↑'),
        h('button', { type: 'button', class: 'secondary small', id: `recipient-down-${i}`, 'aria-label': `Move ${who} down`,
          onclick: () => moveRecipient(i, 1) }, '↓'),
        h('button', { type: 'button', class: 'danger small', id: `recipient-remove-${i}`, 'aria-label': `Remove ${who}`,
          onclick: () => removeRecipient(i) }, 'Remove'))));
  });
  $('recipient-up-0').disabled = true;
  $(`recipient-down-${draft.recipients.length - 1}`).disabled = true;
  if (draft.recipients.length === 1) $('recipient-remove-0').disabled = true;
}

function addRecipient() {
  const last = draft.recipients[draft.recipients.length - 1];
  draft.recipients.push({ key: nextKey++, name: '', email: '', role: 'signer', order: last ? last.order + 1 : 1 });
  renderRecipients();
  $(`recipient-name-${draft.recipients.length - 1}`).focus();
}

// moveRecipient swaps recipient i with its neighbour; the routing orders
// stay with the positions, so that the list reads in routing order.
function moveRecipient(i, d) {
  const j = i + d;
  const rs = draft.recipients;
  if (j < 0 || j >= rs.length) return;
  [rs[i], rs[j]] = [rs[j], rs[i]];
  [rs[i].order, rs[j].order] = [rs[j].order, rs[i].order];
  renderRecipients();
  // The focus follows the moved recipient: its same button, else its name.
  const same = $(`recipient-${d < 0 ? 'up' : 'down'}-${j}`);
  (same.disabled ? $(`recipient-name-${j}`) : same).focus();
}

function removeRecipient(i) {
  const [r] = draft.recipients.splice(i, 1);
  draft.fields = draft.fields.filter((f) => f.rkey !== r.key);
  renderRecipients();
  $(`recipient-name-${Math.max(0, i - 1)}`).focus();
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkRecipients() {
  const subject = $('env-subject').value.trim();
  if (!subject) return ['env-subject', 'Give the envelope a subject.'];
  for (const [i, r] of draft.recipients.entries()) {
    r.name = r.name.trim();
    r.email = r.email.trim();
    if (!r.name) return [`recipient-name-${i}`, `Recipient ${i + 1} needs a name.`];
    if (!EMAIL.test(r.email)) return [`recipient-email-${i}`, `Recipient ${i + 1} needs a valid e-mail address.`];
    if (!(r.order >= 1 && r.order <= 100)) return [`recipient-order-${i}`, `Recipient ${i + 1} needs a routing order from 1 to 100.`];
  }
  if (!draft.recipients.some((r) => ACTING.has(r.role))) return ['recipient-role-0', 'At least one recipient must sign or approve.'];
  const seen = new Set();
  for (const [i, r] of draft.recipients.entries()) {
    const k = r.email.toLowerCase();
    if (seen.has(k)) return [`recipient-email-${i}`, `${r.email} is listed twice.`];
    seen.add(k);
  }
  return null;
}

// Field placement.

async function enterPlacement() {
  renderPalette();
  const box = $('pdf-pages');
  const width = Math.max(260, Math.min(900, box.clientWidth || 800));
  const key = draft.doc.id + '@' + width;
  if (draft.rendered !== key) {
    clear(box);
    $('pages-status').textContent = 'Rendering the document…';
    try {
      draft.pages = await renderPDF(box, draft.data.slice(0), { width });
      draft.rendered = key;
      for (const p of draft.pages) {
        p.wrapper.id = 'page-' + p.number;
        p.wrapper.setAttribute('aria-label', `Page ${p.number}`);
        p.wrapper.dataset.page = String(p.number);
      }
      $('pages-status').textContent = `${draft.pages.length} ${draft.pages.length === 1 ? 'page' : 'pages'}. Place the fields each recipient fills.`;
    } catch (e) {
      $('pages-status').textContent = '';
      report($('new-error'), e);
      return;
    }
  }
  for (const el of box.querySelectorAll('.field-box')) el.remove();
  draft.fields = draft.fields.filter((f) => draft.recipients.some((r) => r.key === f.rkey && ACTING.has(r.role)));
  for (const f of draft.fields) drawField(f);
  countFields();
}

function renderPalette() {
  const groups = $('palette-groups');
  clear(groups);
  draft.recipients.forEach((r, i) => {
    if (!ACTING.has(r.role)) return;
    const items = KINDS.map(([kind, label]) => {
      const b = h('button', {
        type: 'button', id: `palette-${i}-${kind}`, class: `palette-item kind-${kind} ${colourOf(r.key)}`,
        'data-kind': kind, 'aria-label': `${label} for ${r.name}`,
      }, label);
      wirePaletteItem(b, r.key, kind);
      return b;
    });
    groups.append(h('div', { class: 'palette-group ' + colourOf(r.key), role: 'group', 'aria-label': `Fields for ${r.name}` },
      h('h3', {}, h('span', { class: 'swatch', 'aria-hidden': 'true' }), r.name), ...items));
  });
}

function pageOf(number) {
  return draft.pages.find((p) => p.number === number);
}

// pageAt returns the rendered page under a viewport point, or null.
function pageAt(x, y) {
  for (const p of draft.pages) {
    const r = p.wrapper.getBoundingClientRect();
    if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) return p;
  }
  return null;
}

function clampField(f) {
  const p = pageOf(f.page);
  f.width = Math.min(Math.max(f.width, MIN_W), p.width);
  f.height = Math.min(Math.max(f.height, MIN_H), p.height);
  f.x = Math.min(Math.max(f.x, 0), p.width - f.width);
  f.y = Math.min(Math.max(f.y, 0), p.height - f.height);
}

function round(v) {
  return Math.round(v * 100) / 100;
}

function addField(rkey, kind, page, x, y) {
  if (draft.fields.length >= MAX_FIELDS) {
    message($('new-error'), `An envelope takes at most ${MAX_FIELDS} fields.`);
    return null;
  }
  const s = SIZES[kind];
  const f = { id: nextKey++, rkey, kind, page: page.number, x, y, width: s.w, height: s.h, required: true };
  clampField(f);
  draft.fields.push(f);
  drawField(f);
  countFields();
  return f;
}

// place positions a field's box from its points.
function place(f) {
  const p = pageOf(f.page);
  const el = f.el;
  el.style.left = f.x * p.scale + 'px';
  el.style.top = (p.height - f.y - f.height) * p.scale + 'px';
  el.style.width = f.width * p.scale + 'px';
  el.style.height = f.height * p.scale + 'px';
  el.dataset.x = String(round(f.x));
  el.dataset.y = String(round(f.y));
  el.dataset.width = String(round(f.width));
  el.dataset.height = String(round(f.height));
}

function fieldLabel(f) {
  const k = KINDS.find(([kind]) => kind === f.kind)[1];
  return `${k} for ${recipientName(f.rkey)}, page ${f.page}`;
}

function drawField(f) {
  const p = pageOf(f.page);
  if (!p) return;
  const kindLabel = KINDS.find(([kind]) => kind === f.kind)[1];
  const remove = h('button', { type: 'button', class: 'field-delete', id: `field-${f.id}-delete`, 'aria-label': 'Remove ' + fieldLabel(f) }, '×');
  const handle = h('span', { class: 'resize-handle', 'aria-hidden': 'true' });
  const el = h('div', {
    class: `field-box placed kind-${f.kind} ${colourOf(f.rkey)}`, id: `field-${f.id}`, tabindex: '0', role: 'group',
    'aria-label': fieldLabel(f) + '. Arrow keys move, Alt and arrow keys resize, Delete removes.',
    'data-kind': f.kind, 'data-recipient': String(draft.recipients.findIndex((r) => r.key === f.rkey)),
    'data-page': String(f.page),
  }, h('span', { class: 'field-label' }, kindLabel), remove, handle);
  f.el = el;
  p.wrapper.append(el);
  place(f);
  remove.addEventListener('click', (ev) => {
    ev.stopPropagation();
    deleteField(f);
  });
  remove.addEventListener('pointerdown', (ev) => ev.stopPropagation());
  handle.addEventListener('pointerdown', (ev) => dragBox(ev, f, true));
  el.addEventListener('pointerdown', (ev) => dragBox(ev, f, false));
  el.addEventListener('keydown', (ev) => keyBox(ev, f));
}

function deleteField(f) {
  const i = draft.fields.indexOf(f);
  if (i < 0) return;
  draft.fields.splice(i, 1);
  const next = draft.fields[Math.min(i, draft.fields.length - 1)];
  f.el.remove();
  countFields();
  if (next && next.el) next.el.focus();
  else $('palette-groups').querySelector('button')?.focus();
}

function keyBox(ev, f) {
  const step = ev.shiftKey ? 10 : 1;
  const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[ev.key];
  if (ev.key === 'Delete' || ev.key === 'Backspace') {
    ev.preventDefault();
    deleteField(f);
    return;
  }
  if (!d) return;
  ev.preventDefault();
  if (ev.altKey) {
    // Resizing keeps the top-left corner: y moves opposite to the height.
    const top = f.y + f.height;
    f.width += d[0];
    f.height -= d[1];
    clampField(f);
    f.y = Math.max(0, top - f.height);
  } else {
    f.x += d[0];
    f.y += d[1];
  }
  clampField(f);
  place(f);
}

// dragBox moves (or, from the handle, resizes) a placed field with the
// pointer; the field's points are updated as it goes.
function dragBox(ev, f, resize) {
  if (ev.button !== 0) return;
  ev.preventDefault();
  ev.stopPropagation();
  const el = f.el;
  const p = pageOf(f.page);
  el.focus({ preventScroll: true });
  el.setPointerCapture(ev.pointerId);
  el.classList.add('dragging');
  const start = { x: ev.clientX, y: ev.clientY, fx: f.x, fy: f.y, fw: f.width, fh: f.height };
  const move = (e) => {
    const dx = (e.clientX - start.x) / p.scale;
    const dy = (e.clientY - start.y) / p.scale;
    if (resize) {
      const top = start.fy + start.fh;
      f.width = start.fw + dx;
      f.height = start.fh + dy;
      clampField(f);
      f.y = Math.max(0, top - f.height);
      f.width = Math.min(f.width, p.width - f.x);
    } else {
      f.x = start.fx + dx;
      f.y = start.fy - dy;
    }
    clampField(f);
    place(f);
  };
  const end = () => {
    el.classList.remove('dragging');
    el.removeEventListener('pointermove', move);
    el.removeEventListener('pointerup', end);
    el.removeEventListener('pointercancel', end);
  };
  el.addEventListener('pointermove', move);
  el.addEventListener('pointerup', end);
  el.addEventListener('pointercancel', end);
}

// wirePaletteItem lets a palette item be dragged onto a page (pointer) or
// placed by activating it (keyboard, or a click without a drag).
function wirePaletteItem(item, rkey, kind) {
  let dropped = false;
  item.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0 || !draft.pages.length) return;
    ev.preventDefault();
    item.setPointerCapture(ev.pointerId);
    const scale = draft.pages[0].scale;
    const s = SIZES[kind];
    const ghost = h('div', { class: `field-box ghost kind-${kind} ${colourOf(rkey)}`, 'aria-hidden': 'true' },
      h('span', { class: 'field-label' }, KINDS.find(([k]) => k === kind)[1]));
    ghost.style.width = s.w * scale + 'px';
    ghost.style.height = s.h * scale + 'px';
    const follow = (e) => {
      ghost.style.left = e.clientX - (s.w * scale) / 2 + 'px';
      ghost.style.top = e.clientY - (s.h * scale) / 2 + 'px';
    };
    follow(ev);
    document.body.append(ghost);
    let moved = false;
    const move = (e) => {
      moved = moved || Math.abs(e.clientX - ev.clientX) + Math.abs(e.clientY - ev.clientY) > 4;
      follow(e);
    };
    const finish = (e, cancelled) => {
      ghost.remove();
      item.removeEventListener('pointermove', move);
      item.removeEventListener('pointerup', up);
      item.removeEventListener('pointercancel', cancel);
      if (cancelled || !moved) return;
      const p = pageAt(e.clientX, e.clientY);
      if (!p) return;
      dropped = true;
      const r = p.wrapper.getBoundingClientRect();
      // The pointer holds the box by its centre.
      const left = (e.clientX - r.left) / p.scale - s.w / 2;
      const top = (e.clientY - r.top) / p.scale - s.h / 2;
      const f = addField(rkey, kind, p, left, p.height - top - s.h);
      if (f) f.el.focus({ preventScroll: true });
    };
    const up = (e) => finish(e, false);
    const cancel = (e) => finish(e, true);
    item.addEventListener('pointermove', move);
    item.addEventListener('pointerup', up);
    item.addEventListener('pointercancel', cancel);
  });
  item.addEventListener('click', () => {
    if (dropped) {
      dropped = false;
      return;
    }
    const p = firstVisiblePage();
    if (!p) return;
    const s = SIZES[kind];
    // Cascade new fields so that they do not hide each other.
    const n = draft.fields.filter((f) => f.page === p.number).length % 10;
    const f = addField(rkey, kind, p, 36 + n * 12, p.height - 72 - s.h - n * 24);
    if (f) f.el.focus();
  });
}

function firstVisiblePage() {
  for (const p of draft.pages) {
    const r = p.wrapper.getBoundingClientRect();
    if (r.bottom > 0 && r.top < window.innerHeight) return p;
  }
  return draft.pages[0] || null;
}

function countFields() {
  const n = draft.fields.length;
  $('field-count').textContent = n === 0 ? 'No fields placed yet.' : `${n} ${n === 1 ? 'field' : 'fields'} placed.`;
}

// apiFields returns the placed fields as POST /v1/envelopes takes them.
function apiFields() {
  return draft.fields.map((f) => ({
    document: draft.doc.id,
    recipient: draft.recipients.findIndex((r) => r.key === f.rkey),
    kind: f.kind, page: f.page,
    x: round(f.x), y: round(f.y), width: round(f.width), height: round(f.height),
    required: f.required,
  }));
}

function checkFields() {
  for (const [i, r] of draft.recipients.entries()) {
    if (r.role === 'signer' && !draft.fields.some((f) => f.rkey === r.key && f.kind === 'signature')) {
      return `${r.name || 'Recipient ' + (i + 1)} has no signature field yet. Place one, or continue without.`;
    }
  }
  return '';
}

function renderReview() {
  const dl = $('review');
  clear(dl);
  const add = (term, ...desc) => dl.append(h('dt', {}, term), h('dd', {}, ...desc));
  add('Document', `${draft.doc.name} (${draft.doc.pages} ${draft.doc.pages === 1 ? 'page' : 'pages'})`);
  add('Subject', $('env-subject').value.trim());
  if ($('env-message').value.trim()) add('Message', $('env-message').value.trim());
  const list = h('ul', { class: 'plain' });
  for (const r of [...draft.recipients].sort((a, b) => a.order - b.order)) {
    const n = draft.fields.filter((f) => f.rkey === r.key).length;
    list.append(h('li', {}, h('span', { class: 'swatch ' + colourOf(r.key), 'aria-hidden': 'true' }),
      `${r.order}. ${r.name} <${r.email}>, ${r.role}` + (ACTING.has(r.role) ? `, ${n} ${n === 1 ? 'field' : 'fields'}` : '')));
  }
  add('Recipients', list);
  const warn = checkFields();
  if (warn) dl.append(h('dd', { class: 'muted', id: 'review-warning' }, warn));
}

async function createEnvelope(send) {
  const box = $('new-error');
  clear(box);
  const body = {
    subject: $('env-subject').value.trim(),
    documents: [draft.doc.id],
    recipients: draft.recipients.map((r) => ({ role: r.role, name: r.name, email: r.email, routing_order: r.order })),
  };
  const msg = $('env-message').value.trim();
  if (msg) body.message = msg;
  if (draft.fields.length) body.fields = apiFields();
  $('send-envelope').disabled = true;
  $('save-draft').disabled = true;
  let env = null;
  try {
    env = await call('POST', '/v1/envelopes', { json: body });
    if (send) env = await call('POST', `/v1/envelopes/${env.id}/send`);
    draft = null;
    $('env-subject').value = '';
    $('env-message').value = '';
    $('upload-status').textContent = '';
    $('upload-file').value = '';
    $('step-1-next').disabled = true;
    flash(send ? (env.status === 'awaiting_approval' ? 'Submitted for approval.' : 'Sent.') : 'Saved as a draft.');
    location.hash = '#/envelopes/' + env.id;
  } catch (e) {
    if (env) {
      // Created but not sent: the draft is kept on the server.
      draft = null;
      location.hash = '#/envelopes/' + env.id;
      setTimeout(() => report($('detail-error'), e), 0);
      return;
    }
    report(box, e);
  } finally {
    $('send-envelope').disabled = false;
    $('save-draft').disabled = false;
  }
}

function wireNew() {
  wireUpload();
  $('step-1-next').addEventListener('click', () => step(2));
  $('add-recipient').addEventListener('click', addRecipient);
  $('step-2-back').addEventListener('click', () => step(1));
  $('step-2-next').addEventListener('click', () => {
    clear($('new-error'));
    const bad = checkRecipients();
    if (bad) {
      message($('new-error'), bad[1]);
      $(bad[0]).focus();
      return;
    }
    step(3);
  });
  $('step-3-back').addEventListener('click', () => step(2));
  $('step-3-next').addEventListener('click', () => step(4));
  $('step-4-back').addEventListener('click', () => step(3));
  $('send-envelope').addEventListener('click', () => createEnvelope(true));
  $('save-draft').addEventListener('click', () => createEnvelope(false));
}

// ---------------------------------------------------------------- detail

let current = null; // the envelope shown

async function loadDetail(id) {
  const box = $('detail-error');
  clear(box);
  $('detail-status-message').textContent = '';
  if (!current || current.id !== id) {
    $('detail-subject').textContent = 'Loading…';
    for (const el of ['detail-facts', 'recipient-rows', 'detail-documents', 'timeline']) clear($(el));
    show($('timeline-more'), false);
    $('detail-status').className = 'hidden';
  }
  try {
    const [e, hist, events] = await Promise.all([
      call('GET', '/v1/envelopes/' + id),
      call('GET', `/v1/envelopes/${id}/history`),
      call('GET', `/v1/envelopes/${id}/events?limit=${eventsPage()}`),
    ]);
    current = e;
    renderDetail(e, hist.transitions || [], events);
  } catch (e) {
    $('detail-subject').textContent = 'Envelope';
    report(box, e);
  }
}

function renderDetail(e, transitions, events) {
  $('detail-subject').textContent = e.subject || '(no subject)';
  const st = $('detail-status');
  st.className = badgeClass(e.status);
  st.textContent = STATUS_LABEL[e.status] || e.status;
  st.dataset.status = e.status;

  const facts = $('detail-facts');
  clear(facts);
  const fact = (term, value) => {
    if (value) facts.append(h('dt', {}, term), h('dd', {}, value));
  };
  fact('Progress', progress(e));
  fact('Created', fmtTime(e.created_at));
  fact('Sent', e.sent_at && fmtTime(e.sent_at));
  fact('Completed', e.completed_at && fmtTime(e.completed_at));
  fact('Expires', !['completed', 'voided', 'declined', 'expired'].includes(e.status) && fmtTime(e.expires_at));
  fact('Reason', e.reason);
  fact('Message', e.message);

  const open = e.status === 'sent' || e.status === 'in_progress';
  show($('send-draft'), e.status === 'draft');
  show($('remind'), open);
  show($('void-open'), open || e.status === 'awaiting_approval');
  show($('download-evidence'), e.status === 'completed');

  const rows = $('recipient-rows');
  clear(rows);
  for (const r of [...e.recipients].sort((a, b) => a.routing_order - b.routing_order)) {
    const times = h('ul', { class: 'plain times' });
    const t = (label, at) => at && times.append(h('li', {}, `${label} ${fmtTime(at)}`));
    t('Notified', r.notified_at);
    t('Reminded', r.reminded_at);
    t('Viewed', r.viewed_at);
    t('Signed', r.completed_at);
    t('Declined', r.declined_at);
    if (r.decline_reason) times.append(h('li', {}, 'Reason: ' + r.decline_reason));
    const actions = h('td', {});
    if (open && r.status === 'active') {
      actions.append(h('button', { type: 'button', class: 'secondary small', id: 'reissue-' + r.id,
        'aria-label': `Send ${r.name} a new link`, onclick: () => reissue(e, r) }, 'New link'));
    }
    rows.append(h('tr', { id: 'recipient-' + r.id },
      h('td', {}, String(r.routing_order)),
      h('td', {}, h('div', {}, r.name), h('div', { class: 'muted' }, r.email)),
      h('td', {}, r.role),
      h('td', {}, badge(r.status, 'recipient-status-' + r.id)),
      h('td', {}, times),
      actions));
  }

  const docs = $('detail-documents');
  clear(docs);
  for (const d of e.documents) {
    const signed = e.status === 'completed';
    docs.append(h('li', {},
      h('button', { type: 'button', class: 'secondary', id: 'download-' + d.document_id,
        onclick: () => download(e, d) }, signed ? `Download signed ${d.name}` : `Download ${d.name}`),
      h('span', { class: 'muted hash' }, ` SHA-256 ${d.sha256.slice(0, 16)}…`)));
  }

  renderTimeline(e, transitions, events);
}

// How an audit event's actor kind reads.
const ACTOR_KIND = { user: 'user', service: 'API key', recipient: 'recipient', system: 'Signet' };

// actorText names who acted (an audit event's actor {kind, id}): a
// recipient by their name, the logged-in user as "you", Signet itself,
// else the kind and id.
function actorText(a, e) {
  if (a.kind === 'recipient') {
    const r = e.recipients.find((x) => x.id === a.id);
    if (r) return r.name;
  }
  if (a.kind === 'user' && me && me.user && a.id === me.user.id) return 'you';
  if (a.kind === 'system') return 'Signet';
  const k = ACTOR_KIND[a.kind] || a.kind || 'unknown';
  return a.id ? `${k} ${a.id}` : k;
}

// The audit events an envelope's timeline names; others show their type.
const EVENT_TEXT = {
  'envelope.created': 'Created', 'envelope.fields_placed': 'Fields placed', 'envelope.submitted': 'Submitted for approval',
  'envelope.approved': 'Approved', 'envelope.rejected': 'Returned to draft', 'envelope.sent': 'Sent',
  'envelope.reminded': 'Reminded', 'envelope.started': 'First recipient acted', 'envelope.completed': 'Completed',
  'envelope.voided': 'Voided', 'envelope.expired': 'Expired', 'envelope.purged': 'Deleted by retention',
  'recipient.viewed': 'Opened the envelope', 'recipient.authenticated': 'Verified their identity',
  'recipient.consented': 'Agreed to sign electronically', 'recipient.declined': 'Declined',
  'recipient.link_reissued': 'New link sent', 'recipient.locked_out': 'Locked out after failed codes',
  'signature.created': 'Signed', 'signature.verified': 'Signature verified',
  'document.uploaded': 'Document uploaded', 'document.downloaded': 'Document downloaded',
  'document.deleted': 'Document deleted', 'document.archive_renewed': 'Archive time-stamp renewed',
  'key.used': 'Signing key used', 'certificate.issued': 'Certificate issued', 'data.shredded': 'Data shredded',
  'access.denied': 'Access refused',
};
const OUTCOME_TEXT = { success: 'succeeded', failure: 'failed', denied: 'refused' };

// eventsPage is the number of events of one timeline page: the
// timeline's data-page-size (1 to 200, the API's bound), else 100.
function eventsPage() {
  const n = Number.parseInt($('timeline').dataset.pageSize, 10);
  return Number.isInteger(n) && n >= 1 && n <= 200 ? n : 100;
}

// renderTimeline lists the envelope's audit events (a page of GET
// /v1/envelopes/{id}/events) with their anchoring; "Load more" fetches
// the next page. The reasons (void, decline, rejection) are sealed in the
// log, so they come from the transitions (GET .../history) that name the
// event.
function renderTimeline(e, transitions, page) {
  const ol = $('timeline');
  clear(ol);
  const reasons = new Map();
  for (const t of transitions) {
    if (t.reason && t.audit_event_id) reasons.set(t.audit_event_id, t.reason);
  }
  const more = $('timeline-more');
  const add = (p) => {
    for (const ev of p.events || []) ol.append(timelineEntry(ev, e, reasons.get(ev.id)));
    show(more, p.next !== null && p.next !== undefined);
    more.onclick = async () => {
      more.disabled = true;
      clear($('detail-error'));
      try {
        add(await call('GET', `/v1/envelopes/${e.id}/events?limit=${eventsPage()}&after=${p.next}`));
      } catch (err) {
        report($('detail-error'), err);
      } finally {
        more.disabled = false;
      }
    };
  };
  if (!page.events || !page.events.length) {
    ol.append(h('li', { class: 'muted' }, 'Nothing has happened yet.'));
    show(more, false);
    return;
  }
  add(page);
}

function timelineEntry(ev, e, reason) {
  const marks = h('span', { class: 'marks' });
  if (ev.anchored) {
    marks.append(h('span', { class: 'badge ok anchored', title: 'Included in a checkpoint anchored outside Signet' }, 'anchored'));
  } else {
    marks.append(h('span', { class: 'badge warn', title: 'Recorded; the checkpoint that covers it is not anchored yet' }, 'not yet anchored'));
  }
  marks.append(h('span', { class: 'muted' }, ` audit event #${ev.index}`));
  const actor = ev.actor || {};
  const who = actorText(actor, e);
  const kind = ACTOR_KIND[actor.kind] || actor.kind || 'unknown';
  return h('li', { id: 'timeline-' + ev.index, 'data-action': ev.type, 'data-anchored': String(ev.anchored === true) },
    h('time', { datetime: ev.time }, fmtTime(ev.time)),
    h('span', { class: 'event' }, EVENT_TEXT[ev.type] || ev.type),
    h('span', { class: 'actor' }, 'by ' + who),
    // The actor's kind, unless the name already says it.
    who.startsWith(kind) ? '' : h('span', { class: 'muted kind' }, `(${kind})`),
    h('span', { class: ev.outcome === 'success' ? 'outcome muted' : 'outcome badge bad' }, OUTCOME_TEXT[ev.outcome] || ev.outcome),
    reason ? h('span', { class: 'reason' }, '“' + reason + '”') : '',
    marks);
}

async function remind(e) {
  const out = $('detail-status-message');
  clear($('detail-error'));
  $('remind').disabled = true;
  try {
    await call('POST', `/v1/envelopes/${e.id}/remind`);
    out.textContent = 'Reminders sent to the recipients whose turn it is.';
    loadDetail(e.id);
  } catch (err) {
    report($('detail-error'), err);
  } finally {
    $('remind').disabled = false;
  }
}

async function reissue(e, r) {
  clear($('detail-error'));
  try {
    const res = await call('POST', `/v1/envelopes/${e.id}/recipients/${r.id}/reissue`);
    $('detail-status-message').textContent = `A new link was e-mailed to ${res.sent_to || r.name}; earlier links no longer work.`;
  } catch (err) {
    report($('detail-error'), err);
  }
}

async function sendDraft(e) {
  clear($('detail-error'));
  try {
    await call('POST', `/v1/envelopes/${e.id}/send`);
    loadDetail(e.id);
  } catch (err) {
    report($('detail-error'), err);
  }
}

async function download(e, d) {
  clear($('detail-error'));
  try {
    const blob = await call('GET', `/v1/envelopes/${e.id}/documents/${d.document_id}/content`, { accept: 'blob' });
    const base = d.name.replace(/\.pdf$/i, '');
    saveBlob(blob, e.status === 'completed' ? `${base}-signed.pdf` : `${base}.pdf`);
  } catch (err) {
    report($('detail-error'), err);
  }
}

async function downloadEvidence(e) {
  const out = $('detail-status-message');
  clear($('detail-error'));
  out.textContent = 'Preparing the evidence bundle…';
  $('download-evidence').disabled = true;
  try {
    const blob = await api('GET', `/v1/envelopes/${e.id}/evidence`, { accept: 'blob' });
    saveBlob(blob, `evidence-${e.id}.zip`);
    out.textContent = 'Evidence bundle downloaded. Check it with “signet verify”.';
  } catch (err) {
    out.textContent = '';
    if (err instanceof Problem && err.status === 401) {
      sessionEnded();
      return;
    }
    if (err instanceof Problem && problemType(err) === 'checkpoint-pending') {
      const secs = retryAfter(err);
      message($('detail-error'), 'The evidence is being anchored; try again shortly' + (secs ? ` (in about ${inWords(secs)}).` : '.'));
      return;
    }
    report($('detail-error'), err);
  } finally {
    $('download-evidence').disabled = false;
  }
}

function wireDetail() {
  $('remind').addEventListener('click', () => current && remind(current));
  $('detail-refresh').addEventListener('click', () => current && loadDetail(current.id));
  $('send-draft').addEventListener('click', () => current && sendDraft(current));
  $('download-evidence').addEventListener('click', () => current && downloadEvidence(current));
  const dlg = $('void-dialog');
  $('void-open').addEventListener('click', () => {
    $('void-reason').value = '';
    clear($('void-error'));
    dlg.showModal();
    $('void-reason').focus();
  });
  $('void-cancel').addEventListener('click', () => dlg.close());
  $('void-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const reason = $('void-reason').value.trim();
    if (!reason) {
      message($('void-error'), 'Give a reason: it is recorded and shown to the recipients.');
      $('void-reason').focus();
      return;
    }
    $('void-confirm').disabled = true;
    try {
      await call('POST', `/v1/envelopes/${current.id}/void`, { json: { reason } });
      dlg.close();
      $('detail-status-message').textContent = 'The envelope is voided.';
      loadDetail(current.id);
    } catch (err) {
      report($('void-error'), err);
    } finally {
      $('void-confirm').disabled = false;
    }
  });
}

// ---------------------------------------------------------------- start

async function boot() {
  $('login-form').addEventListener('submit', onLogin);
  $('mfa-form').addEventListener('submit', onMFA);
  $('mfa-recovery').addEventListener('change', onRecoveryToggle);
  $('mfa-cancel').addEventListener('click', onMFACancel);
  $('mfa-enrol').addEventListener('submit', onEnrol);
  $('enrol-cancel').addEventListener('click', onMFACancel);
  $('recovery-done').addEventListener('click', onRecoveryDone);
  $('logout').addEventListener('click', onLogout);
  $('envelope-filter').addEventListener('change', () => loadList());
  $('refresh-list').addEventListener('click', () => loadList());
  $('list-more').addEventListener('click', () => loadList(true));
  wireNew();
  wireDetail();
  window.addEventListener('hashchange', route);
  // Without the CSRF token of this tab's login there is no session to
  // resume (its unsafe requests would be refused): log in.
  let s = null;
  if (sessionStorage.getItem('signet.csrf')) {
    try {
      s = await api('GET', '/v1/auth/session');
    } catch {
      s = null;
    }
  }
  if (!s) {
    clearCSRF();
    showLogin();
  } else if (s.pending) {
    showLogin(s.mfa === 'enrol' ? 'enrol' : 'mfa');
  } else {
    await loggedIn();
  }
  document.body.dataset.ready = 'true';
}

boot();
