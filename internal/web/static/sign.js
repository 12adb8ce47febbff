// sign.js: the recipient's signing ceremony at /sign#TOKEN (the link that
// Signet e-mails). It only ever calls the recipient endpoints
// (/v1/recipient/...), so a recipient's page never holds another
// recipient's data. The link token is read from the address's fragment,
// removed from the address bar at once and kept in memory only, as is the
// session token.
//
// Steps: Verify (one-time code, access code, TOTP code or passkey, as the
// API answers) → Review (the sender's subject and message, the documents
// with the recipient's own fields, filling them) → Sign (the
// electronic-signature disclosure, consent, sign) → Done. Declining and
// every link or envelope problem end on the notice page.
//
// Element ids (a contract: end-to-end tests drive the page with them):
//
//	#steps, #step-verify, #step-review, #step-sign, #step-done   progress; the current one has aria-current="step"
//	#status                      polite live region for progress messages
//	#verify, #verify-heading     step 1 section and heading
//	#send-code                   "Send me a code"
//	#code-form, #code, #code-label, #code-hint, #verify-code, #resend-code, #code-sent-to
//	#verify-error                the problem of the last attempt: its detail, and #attempts-left if the API gives it
//	#passkey-panel, #passkey-confirm   passkey recipients
//	#review, #review-heading, #envelope-subject, #envelope-message, #envelope-expiry, #review-error,
//	#documents (a section per document, its pages .pdf-page), #fields-summary
//	#field-list                  one <li> per own field; its button is #field-item-<field id>
//	#field-box-<field id>        the field's box over the page (.field-box.kind-<kind>, data-filled="true" once filled)
//	#next-field, #to-sign, #decline-open
//	#field-dialog                the field editor: #mode-draw, #mode-type, #draw-pad (canvas), #draw-undo,
//	                             #draw-clear, #type-input (#type-label), #type-preview, #text-input (#text-label), #field-apply,
//	                             #field-remove, #field-cancel, #field-dialog-error
//	#sign-step, #sign-heading, #consent-text, #consent-check, #sign-missing, #sign-button,
//	#back-to-review, #decline-open-2, #sign-error
//	#done, #done-heading, #done-text, #done-completed, #download-panel, #download-signed, #done-error
//	    (the download is offered while the envelope is still open: once complete, its sessions end)
//	#decline-dialog, #decline-reason, #decline-confirm, #decline-cancel, #decline-error
//	#notice, #notice-heading, #notice-text, #notice-detail   the ending pages; #notice has data-kind:
//	    no-link, malformed-link, wrong-link, expired, used, revoked, voided, completed, declined,
//	    not-your-turn, too-many-attempts, passkey-unavailable, method-unavailable, unavailable, you-declined, error
import { api, h, Problem, showProblem, saveBlob } from '/static/signet.js';
import { renderPDF } from '/static/pdfview.js';

// A link token is 32 random bytes, base64url without padding.
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
// Bounds of a drawing, far above any signature and well under the API's limits.
const MAX_STROKES = 64;
const MAX_POINTS = 4000;
// Points of the drawings of one document together (a signature shows them
// all: the API's limit is 4096), and of one request (16384).
const MAX_DOCUMENT_POINTS = 4000;
const MAX_REQUEST_POINTS = 16000;
const MAX_DOCUMENT_WIDTH = 900;

const $ = (id) => document.getElementById(id);

const state = {
  link: null,        // the link token, in memory only
  session: null,     // the session token, in memory only
  view: null,        // GET /v1/recipient/envelope
  fields: [],        // the recipient's own fields
  values: new Map(), // field id → {text} | {strokes}
  consented: false,
  signed: null,      // POST /v1/recipient/sign's answer
  method: 'email',   // what step 1 asks for: email | sms | access | totp | passkey | link
};

// ---------- steps, status, notices ----------

const SECTIONS = ['loading', 'verify', 'review', 'sign-step', 'done', 'notice'];
const STEP_OF = { verify: 'verify', review: 'review', 'sign-step': 'sign', done: 'done' };

function show(section, heading) {
  for (const s of SECTIONS) $(s).classList.toggle('hidden', s !== section);
  const step = STEP_OF[section];
  const order = ['verify', 'review', 'sign', 'done'];
  const at = order.indexOf(step);
  for (const [i, name] of order.entries()) {
    const li = $('step-' + name);
    if (name === step) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
    li.classList.toggle('done', at >= 0 && i < at);
  }
  $('steps').classList.toggle('hidden', section === 'notice' || section === 'loading');
  if (heading) {
    const el = $(heading);
    // Moves the screen reader's and the keyboard's focus to the new step.
    requestAnimationFrame(() => el.focus());
  }
}

function status(text) {
  $('status').textContent = text;
}

function clear(el) {
  el.replaceChildren();
}

// The ending pages: one heading and one sentence each, never raw data.
const NOTICES = {
  'no-link': ['Open the link from your e-mail', 'This page opens from the link in the e-mail you received. For your security the link is not kept in the address bar: if you reloaded the page, open the link from your e-mail again.'],
  'malformed-link': ['This link is incomplete', 'The link seems cut off or changed. Open it again from your e-mail, or copy the whole link into the address bar.'],
  'wrong-link': ['This link is not valid', 'The link is not known. Open the latest e-mail you received about this envelope, or ask the sender to send you a new link.'],
  expired: ['This link has expired', 'The time to sign has passed. Ask the sender to send you a new link if they still need your signature.'],
  used: ['You have already finished', 'This link has been used: you already signed or declined these documents, so there is nothing more to do.'],
  revoked: ['This link no longer works', 'The link was replaced by a newer one, or blocked after too many wrong codes. Ask the sender to send you a new link.'],
  voided: ['The sender withdrew this envelope', 'The sender voided the envelope: it can no longer be signed. Nothing more is needed from you.'],
  completed: ['This envelope is complete', 'Every party has signed. Nothing more is needed from you.'],
  declined: ['This envelope was declined', 'A recipient declined to sign, so the envelope has ended. Nothing more is needed from you.'],
  'not-your-turn': ['It is not your turn yet', 'Others sign before you. You will receive an e-mail with a link when it is your turn.'],
  'too-many-attempts': ['Too many attempts', 'For your security, this link is paused after several wrong codes or too many requests.'],
  'passkey-unavailable': ['Your passkey cannot be used', 'This envelope asks for the passkey of your Signet account, and none can be used.'],
  'method-unavailable': ['You cannot confirm who you are this way', 'This envelope asks for a way of confirming who you are that is not available to you. Ask the sender.'],
  unavailable: ['The service is not available right now', 'The request could not be completed. Please try again in a few minutes.'],
  'you-declined': ['You declined to sign', 'The sender has been told, with your reason. The envelope has ended: nobody can sign it any more. You can close this page.'],
  error: ['Something went wrong', 'The request could not be completed. Open the link from your e-mail again.'],
};

function notice(kind, extra) {
  const [title, text] = NOTICES[kind] || NOTICES.error;
  $('notice').dataset.kind = kind;
  $('notice-heading').textContent = title;
  $('notice-text').textContent = text;
  $('notice-detail').textContent = extra || '';
  closeDialogs();
  state.session = null;
  state.link = null;
  status('');
  show('notice', 'notice-heading');
  document.title = 'Signet — ' + title;
}

function closeDialogs() {
  for (const id of ['field-dialog', 'decline-dialog']) {
    const d = $(id);
    if (d.open) d.close();
  }
}

// problemKind maps the recipient API's problems to an ending page, or
// returns null for a problem the current step shows itself. An unknown,
// an expired and a used link are all "invalid-link" problems (401), told
// apart by their detail; an ended envelope ("envelope-ended", 410) names
// its state in the detail.
function problemKind(p) {
  if (!(p instanceof Problem)) return 'error';
  const type = (p.type || '').split('/').pop();
  const detail = (p.detail || '').toLowerCase();
  switch (type) {
    case 'invalid-link':
      if (detail.includes('already used')) return 'used';
      if (detail.includes('expired')) return 'expired';
      return 'wrong-link';
    case 'link-revoked':
      return 'revoked';
    case 'envelope-ended':
      for (const k of ['voided', 'expired', 'completed', 'declined']) if (detail.includes(k)) return k;
      return 'expired';
    case 'not-recipients-turn':
      return detail.includes('already') ? 'used' : 'not-your-turn';
    case 'recipient-locked':
    case 'too-many-codes':
    case 'rate-limited':
      return 'too-many-attempts';
    case 'passkey-unavailable':
      return 'passkey-unavailable';
    case 'totp-unavailable':
    case 'link-only-disabled':
      return 'method-unavailable';
  }
  if (p.status === 429) return 'too-many-attempts';
  if (p.status === 410) return 'expired';
  return null;
}

// retryText says when to try again, from the problem's Retry-After.
function retryText(p) {
  let secs = Number(p && (p.retryAfter ?? p.retry_after));
  if (!secs && p && p.headers && typeof p.headers.get === 'function') secs = Number(p.headers.get('Retry-After'));
  if (!Number.isFinite(secs) || secs <= 0) return 'Please try again later.';
  if (secs < 90) return `Please try again in ${Math.ceil(secs)} seconds.`;
  if (secs < 90 * 60) return `Please try again in ${Math.ceil(secs / 60)} minutes.`;
  return `Please try again in ${Math.ceil(secs / 3600)} hours.`;
}

// fail shows p: an ending page when it ends the ceremony, else in box.
// An ended session sends the recipient back to step 1 (the link is still
// in memory), keeping what they filled in.
function fail(p, box) {
  if (!(p instanceof Problem)) {
    // A bug of this page, not an answer of the API: reported to the
    // browser's console, never shown as a stack trace.
    console.error(p);
  }
  const kind = problemKind(p);
  const type = p instanceof Problem ? (p.type || '').split('/').pop() : '';
  if (type === 'invalid-session' && state.link) {
    state.session = null;
    startVerify('Your session has ended. Confirm it’s you again to continue; what you filled in is kept.');
    return;
  }
  if (kind === 'too-many-attempts') {
    notice(kind, retryText(p));
    return;
  }
  if (kind) {
    notice(kind, kind === 'passkey-unavailable' || kind === 'method-unavailable' ? p.detail : '');
    return;
  }
  if (p.status >= 500 && !box) {
    notice('unavailable');
    return;
  }
  if (box) {
    clear(box);
    showProblem(box, p);
  } else {
    notice('error', p.detail);
  }
}

// ---------- API calls ----------

function linkCall(path, json) {
  return api('POST', path, { json: json || {}, headers: { Authorization: 'Link ' + state.link } });
}

function sessionCall(method, path, opts = {}) {
  return api(method, path, { ...opts, headers: { Authorization: 'Session ' + state.session } });
}

// ---------- step 1: verify ----------

function startVerify(message) {
  clear($('verify-error'));
  // Back at the start: ask for a new code (or the passkey) again.
  const passkey = state.method === 'passkey';
  $('send-code-panel').classList.toggle('hidden', passkey);
  $('passkey-panel').classList.toggle('hidden', !passkey);
  $('code-form').classList.add('hidden');
  if (message) $('verify-error').append(h('p', { class: 'alert', role: 'alert' }, message));
  show('verify', 'verify-heading');
  document.title = 'Signet — Confirm it’s you';
}

const METHOD_TEXT = {
  email: { label: 'Code from the e-mail', hint: 'Six digits. The code is valid for a few minutes.', numeric: true },
  sms: { label: 'Code from the text message', hint: 'Six digits. The code is valid for a few minutes.', numeric: true },
  access: { label: 'Access code', hint: 'The access code the sender gave you (not in the e-mail).', numeric: false },
  totp: { label: 'Code from your authenticator app', hint: 'Six digits from the authenticator app of your Signet account.', numeric: true },
};

function showCodeForm(method, sentTo) {
  state.method = method;
  const m = METHOD_TEXT[method];
  $('code-label').textContent = m.label;
  $('code-hint').textContent = m.hint;
  const input = $('code');
  input.value = '';
  input.removeAttribute('aria-invalid');
  if (m.numeric) {
    input.setAttribute('inputmode', 'numeric');
    input.setAttribute('autocomplete', 'one-time-code');
    input.setAttribute('maxlength', '6');
    input.setAttribute('pattern', '[0-9]{6}');
  } else {
    input.setAttribute('inputmode', 'text');
    input.setAttribute('autocomplete', 'off');
    input.setAttribute('maxlength', '64');
    input.removeAttribute('pattern');
  }
  $('code-sent-to').textContent = sentTo || '';
  $('send-code-panel').classList.add('hidden');
  $('passkey-panel').classList.add('hidden');
  $('code-form').classList.remove('hidden');
  $('resend-code').classList.toggle('hidden', !(method === 'email' || method === 'sms'));
  input.focus();
}

async function sendCode() {
  const btn = $('send-code');
  const resend = $('resend-code');
  btn.disabled = resend.disabled = true;
  clear($('verify-error'));
  status('Sending a code…');
  try {
    const res = await linkCall('/v1/recipient/code');
    const channel = res.channel === 'sms' ? 'sms' : 'email';
    const mins = Math.round((res.expires_in || 600) / 60);
    const where = channel === 'sms' ? 'by text message to ' : 'by e-mail to ';
    showCodeForm(channel, `We sent a code ${where}${res.sent_to}. It is valid for ${mins} minutes.`);
    status('Code sent.');
  } catch (p) {
    status('');
    const type = p instanceof Problem ? (p.type || '').split('/').pop() : '';
    if (type === 'no-code-to-send') {
      // The API names what this recipient enters instead.
      const d = (p.detail || '').toLowerCase();
      if (d.includes('needs no code')) return verifyCode('');
      if (d.includes('authenticator')) return showCodeForm('totp', 'Enter a code from the authenticator app of your Signet account.');
      return showCodeForm('access', 'Enter the access code the sender gave you.');
    }
    if (type === 'too-many-codes') {
      // Codes were asked for too often: the last one still works.
      const box = $('verify-error');
      clear(box);
      showProblem(box, p);
      box.append(h('p', {}, retryText(p) + ' The last code you received still works until it expires.'));
      return;
    }
    if (type === 'passkey-required') {
      state.method = 'passkey';
      $('send-code-panel').classList.add('hidden');
      $('code-form').classList.add('hidden');
      $('passkey-panel').classList.remove('hidden');
      $('passkey-confirm').focus();
      return;
    }
    fail(p, $('verify-error'));
  } finally {
    btn.disabled = resend.disabled = false;
  }
}

async function verifyCode(code) {
  const btn = $('verify-code');
  btn.disabled = true;
  clear($('verify-error'));
  status('Checking…');
  try {
    const body = code ? { code } : {};
    const res = await linkCall('/v1/recipient/verify', body);
    state.session = res.session;
    status('Verified.');
    await loadEnvelope();
  } catch (p) {
    status('');
    const type = p instanceof Problem ? (p.type || '').split('/').pop() : '';
    if (type === 'invalid-code') {
      const input = $('code');
      input.setAttribute('aria-invalid', 'true');
      const box = $('verify-error');
      clear(box);
      showProblem(box, p);
      const left = p.remaining_attempts ?? p.attempts_remaining ?? p.remaining;
      if (Number.isFinite(Number(left)) && left !== null && left !== undefined) {
        box.append(h('p', { id: 'attempts-left' }, `Attempts left: ${Number(left)}.`));
      }
      input.select();
      input.focus();
      return;
    }
    if (type === 'passkey-required') {
      $('code-form').classList.add('hidden');
      $('passkey-panel').classList.remove('hidden');
      return;
    }
    fail(p, $('verify-error'));
  } finally {
    btn.disabled = false;
  }
}

// ---------- passkey ----------

function b64urlToBuf(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out.buffer;
}

function bufToB64url(buf) {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (const c of bytes) s += String.fromCharCode(c);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function requestOptions(json) {
  const pk = json.publicKey || json;
  if (window.PublicKeyCredential && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(pk) };
  }
  const o = { ...pk, challenge: b64urlToBuf(pk.challenge) };
  if (pk.allowCredentials) o.allowCredentials = pk.allowCredentials.map((c) => ({ ...c, id: b64urlToBuf(c.id) }));
  return { publicKey: o };
}

function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  return {
    id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    response: {
      clientDataJSON: bufToB64url(r.clientDataJSON), authenticatorData: bufToB64url(r.authenticatorData),
      signature: bufToB64url(r.signature), userHandle: r.userHandle ? bufToB64url(r.userHandle) : undefined,
    },
  };
}

async function confirmPasskey() {
  const btn = $('passkey-confirm');
  btn.disabled = true;
  clear($('verify-error'));
  status('Waiting for your passkey…');
  try {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      throw new Problem({ status: 0, title: 'Passkeys are not supported here', detail: 'This browser cannot use passkeys. Open the link in an up-to-date browser on a device with your passkey.' });
    }
    const begin = await linkCall('/v1/recipient/passkey/begin');
    let cred;
    try {
      cred = await navigator.credentials.get(requestOptions(begin.options));
    } catch (e) {
      throw new Problem({ status: 0, title: 'The passkey confirmation was cancelled', detail: 'Try again, and confirm on your device when it asks.' });
    }
    const res = await linkCall('/v1/recipient/passkey/finish', { response: credentialJSON(cred) });
    state.session = res.session;
    status('Confirmed.');
    await loadEnvelope();
  } catch (p) {
    status('');
    fail(p, $('verify-error'));
  } finally {
    btn.disabled = false;
  }
}

// ---------- step 2: review and fill ----------

async function loadEnvelope() {
  const v = await sessionCall('GET', '/v1/recipient/envelope');
  state.view = v;
  const me = v.recipient || {};
  if (!v.can_act) {
    if (me.status === 'completed') return notice('used');
    if (me.status === 'declined') return notice('declined');
    return notice('not-your-turn');
  }
  // Only this recipient's own fields, even if the answer held more.
  state.fields = (Array.isArray(v.fields) ? v.fields : []).filter((f) => !f.recipient_id || f.recipient_id === me.id);
  for (const id of state.values.keys()) if (!state.fields.some((f) => f.id === id)) state.values.delete(id);
  state.consented = false;
  $('envelope-subject').textContent = v.subject || '(no subject)';
  const msg = (v.message || '').trim();
  $('envelope-message').textContent = msg;
  $('envelope-message-box').classList.toggle('hidden', !msg);
  $('envelope-expiry').textContent = v.expires_at ? `Please sign before ${new Date(v.expires_at).toLocaleString()}.` : '';
  const acting = me.role === 'approver' ? 'Approve' : 'Sign';
  $('sign-heading').textContent = acting;
  $('sign-button').textContent = acting;
  $('step-sign').textContent = acting;
  const consent = v.consent || {};
  $('consent-text').textContent = consent.text || 'By checking the box below you agree that your electronic signature is the legal equivalent of your handwritten signature on these documents, and that you receive these documents and this disclosure electronically.';
  $('consent-check').checked = false;
  show('review', 'review-heading');
  document.title = 'Signet — ' + (v.subject || 'Review');
  renderFieldList();
  await renderDocuments();
}

async function renderDocuments() {
  const box = $('documents');
  clear(box);
  for (const d of state.view.documents || []) {
    const holder = h('div', { class: 'pdf-pages' });
    const section = h('section', { class: 'document card', 'aria-label': d.name || 'Document' },
      h('h2', { class: 'document-name' }, d.name || 'Document'), holder);
    box.append(section);
    // The pages fit the card they are drawn in.
    const width = Math.min(MAX_DOCUMENT_WIDTH, Math.max(200, holder.clientWidth || document.documentElement.clientWidth - 48));
    status(`Loading ${d.name || 'the document'}…`);
    let data;
    try {
      const blob = await sessionCall('GET', '/v1/recipient/documents/' + encodeURIComponent(d.document_id), { accept: 'blob' });
      data = await blob.arrayBuffer();
    } catch (p) {
      status('');
      fail(p, holder);
      return;
    }
    const pages = await renderPDF(holder, data, { width });
    for (const pg of pages) {
      pg.wrapper.setAttribute('aria-label', `${d.name || 'Document'}, page ${pg.number}`);
      // The page's /Rotate as PDF.js read it, else as the API gives it.
      const size = (d.page_sizes || []).find((ps) => ps.number === pg.number);
      const rotate = ((Number(pg.rotate ?? (size ? size.rotate : 0)) % 360) + 360) % 360;
      for (const f of state.fields) {
        if (f.document_id === d.document_id && Number(f.page) === pg.number) placeBox(f, pg, rotate);
      }
    }
  }
  status('');
}

const KIND_NAME = { signature: 'Signature', initials: 'Initials', date: 'Date', text: 'Text' };

function fieldName(f) {
  return f.label || KIND_NAME[f.kind] || 'Field';
}

function isFilled(f) {
  if (f.kind === 'date') return true;
  const v = state.values.get(f.id);
  return !!v && ((v.text && v.text.trim() !== '') || (v.strokes && v.strokes.length > 0));
}

// shownBox returns field f's box as the page is shown (rotated by
// rotate degrees clockwise, its /Rotate), in points from the shown
// page's top-left corner: {left, top, width, height}. Fields are placed
// in the unrotated page's coordinates, from its lower-left corner.
function shownBox(f, pg, rotate) {
  // The unrotated page's size; pg's is the shown one.
  const turned = rotate === 90 || rotate === 270;
  const W = turned ? pg.height : pg.width;
  const H = turned ? pg.width : pg.height;
  const top = H - f.y - f.height; // from the unrotated top
  switch (rotate) {
    case 90: return { left: f.y, top: f.x, width: f.height, height: f.width };
    case 180: return { left: W - f.x - f.width, top: f.y, width: f.width, height: f.height };
    case 270: return { left: top, top: W - f.x - f.width, width: f.height, height: f.width };
    default: return { left: f.x, top, width: f.width, height: f.height };
  }
}

function placeBox(f, pg, rotate) {
  const box = h('button', {
    type: 'button', id: 'field-box-' + f.id, class: `field-box kind-${f.kind}`,
    'data-field': f.id, 'aria-label': `${fieldName(f)}${f.required ? ' (required)' : ''}`,
    onclick: () => openField(f),
  });
  if (f.kind === 'date') {
    box.disabled = true;
  }
  const b = shownBox(f, pg, rotate);
  // What is drawn in the box is drawn upright, in the box as shown.
  f.shown = { width: b.width, height: b.height };
  box.style.left = b.left * pg.scale + 'px';
  box.style.top = b.top * pg.scale + 'px';
  box.style.width = b.width * pg.scale + 'px';
  box.style.height = b.height * pg.scale + 'px';
  // Its label fits the box as drawn at this scale.
  box.style.fontSize = Math.max(8, Math.min(13, b.height * pg.scale * 0.45)) + 'px';
  pg.wrapper.append(box);
  paintBox(f);
}

// paintBox shows a field's value (or what to do) inside its box.
function paintBox(f) {
  const box = $('field-box-' + f.id);
  if (!box) return;
  clear(box);
  const v = state.values.get(f.id);
  box.dataset.filled = String(isFilled(f));
  box.classList.toggle('filled', isFilled(f) && f.kind !== 'date');
  if (f.kind === 'date') {
    box.title = 'The date is filled in when you sign';
    box.append(h('span', { class: 'field-hint field-date' }, 'filled on signing'));
  } else if (v && v.strokes && v.strokes.length) {
    const c = h('canvas', { class: 'field-ink', 'aria-hidden': 'true' });
    box.append(c);
    const r = box.getBoundingClientRect();
    drawStrokes(c, v.strokes, Math.max(1, r.width), Math.max(1, r.height));
  } else if (v && v.text) {
    box.append(h('span', { class: f.kind === 'text' ? 'field-text' : 'field-text script-face' }, v.text));
  } else {
    box.append(h('span', { class: 'field-hint' }, `${fieldName(f)}${f.required ? ' *' : ''}`));
  }
}

function renderFieldList() {
  const list = $('field-list');
  clear(list);
  const fields = state.fields;
  const docName = (id) => ((state.view.documents || []).find((d) => d.document_id === id) || {}).name || 'document';
  const multi = (state.view.documents || []).length > 1;
  for (const f of fields) {
    const filled = isFilled(f);
    const where = `page ${f.page}${multi ? ' of ' + docName(f.document_id) : ''}`;
    const stateText = f.kind === 'date' ? 'filled on signing' : filled ? 'filled' : f.required ? 'required' : 'optional';
    const item = h('li', { class: filled ? 'filled' : '' },
      h('button', { type: 'button', id: 'field-item-' + f.id, class: 'field-item', onclick: () => goToField(f, true) },
        h('span', { class: 'field-item-name' }, fieldName(f)),
        h('span', { class: 'field-item-where' }, where),
        h('span', { class: `badge ${filled ? 'ok' : f.required ? 'warn' : ''}` }, stateText)));
    list.append(item);
  }
  const need = fields.filter((f) => f.required && !isFilled(f)).length;
  $('fields-summary').textContent = fields.length === 0
    ? 'There is nothing to fill in: read the documents, then continue.'
    : need === 0 ? 'Every required field is filled.' : `${need} required field${need === 1 ? '' : 's'} left to fill.`;
  $('next-field').disabled = fields.filter((f) => f.kind !== 'date').length === 0;
  updateSignButton();
}

let lastField = -1;

function goToField(f, open) {
  const box = $('field-box-' + f.id);
  lastField = state.fields.indexOf(f);
  if (box) {
    box.scrollIntoView({ block: 'center' });
    box.focus({ preventScroll: true });
  }
  if (open && f.kind !== 'date') openField(f);
}

// nextField goes to the next field to fill: the next unfilled required
// one, else simply the next one.
function nextField() {
  const fs = state.fields.filter((f) => f.kind !== 'date');
  if (!fs.length) return;
  const start = lastField;
  const order = [];
  for (let i = 1; i <= state.fields.length; i++) order.push(state.fields[(start + i + state.fields.length) % state.fields.length]);
  const pick = order.find((f) => f.kind !== 'date' && f.required && !isFilled(f)) || order.find((f) => f.kind !== 'date');
  goToField(pick, false);
  status(`${fieldName(pick)}, page ${pick.page}. Press Enter to fill it.`);
}

// ---------- the field editor ----------

const editor = { field: null, mode: 'draw', strokes: [], current: null, pointer: null };

function openField(f) {
  editor.field = f;
  const dlg = $('field-dialog');
  $('field-dialog-title').textContent = fieldName(f);
  $('field-dialog-error').textContent = '';
  const ink = f.kind === 'signature' || f.kind === 'initials';
  $('field-mode').classList.toggle('hidden', !ink);
  $('text-panel').classList.toggle('hidden', ink);
  const v = state.values.get(f.id) || {};
  if (ink) {
    $('type-label').textContent = f.kind === 'initials' ? 'Type your initials' : 'Type your name';
    $('type-input').maxLength = f.kind === 'initials' ? 10 : 100;
    $('type-input').value = v.text || '';
    editor.strokes = v.strokes ? v.strokes.map((s) => s.slice()) : [];
    setMode(v.text ? 'type' : 'draw', false);
  } else {
    $('draw-panel').classList.add('hidden');
    $('type-panel').classList.add('hidden');
    $('text-label').textContent = fieldName(f);
    $('text-input').value = v.text || '';
  }
  dlg.showModal();
  if (ink) {
    sizePad();
    (editor.mode === 'type' ? $('type-input') : $('mode-draw')).focus();
  } else {
    $('text-input').focus();
  }
}

function setMode(mode, focus = true) {
  editor.mode = mode;
  $('mode-draw').setAttribute('aria-pressed', String(mode === 'draw'));
  $('mode-type').setAttribute('aria-pressed', String(mode === 'type'));
  $('draw-panel').classList.toggle('hidden', mode !== 'draw');
  $('type-panel').classList.toggle('hidden', mode !== 'type');
  updatePreview();
  if (mode === 'draw') {
    sizePad();
  } else if (focus) {
    $('type-input').focus();
  }
}

function updatePreview() {
  $('type-preview').textContent = $('type-input').value;
}

// sizePad gives the drawing area the field's proportions, so that the
// stroke fractions fall in the box as drawn.
function sizePad() {
  const f = editor.field;
  if (!f) return;
  const pad = $('draw-pad');
  const avail = Math.max(200, Math.min(560, pad.parentElement.clientWidth || 320));
  const shown = f.shown || { width: f.width, height: f.height };
  const ratio = shown.width > 0 && shown.height > 0 ? shown.height / shown.width : 0.25;
  // As wide as there is room for, at most 320 px high, in the box's
  // proportions (a box shown upright on a turned page is tall).
  let w = avail;
  if (w * ratio > 320) w = Math.max(40, 320 / ratio);
  const hgt = Math.max(24, w * ratio);
  pad.style.width = w + 'px';
  pad.style.height = hgt + 'px';
  drawStrokes(pad, editor.strokes, w, hgt);
}

function drawStrokes(canvas, strokes, w, hgt) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hgt * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  ctx.lineWidth = Math.max(1.2, Math.min(3, hgt / 30));
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#10204a';
  for (const s of strokes) {
    if (!s.length) continue;
    ctx.beginPath();
    ctx.moveTo(s[0][0] * w, s[0][1] * hgt);
    if (s.length === 1) ctx.lineTo(s[0][0] * w + 0.5, s[0][1] * hgt + 0.5);
    for (const [x, y] of s.slice(1)) ctx.lineTo(x * w, y * hgt);
    ctx.stroke();
  }
}

function countPoints() {
  return editor.strokes.reduce((n, s) => n + s.length, 0);
}

function padPoint(ev) {
  const r = $('draw-pad').getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  const round = (v) => Math.round(v * 10000) / 10000;
  return [round(clamp((ev.clientX - r.left) / r.width)), round(clamp((ev.clientY - r.top) / r.height))];
}

function onPadDown(ev) {
  if (editor.pointer !== null || ev.button > 0) return;
  if (editor.strokes.length >= MAX_STROKES || countPoints() >= MAX_POINTS) {
    $('field-dialog-error').textContent = 'The drawing is as large as it can be: undo or clear to draw again.';
    return;
  }
  ev.preventDefault();
  editor.pointer = ev.pointerId;
  try { ev.target.setPointerCapture(ev.pointerId); } catch { /* a synthetic pointer has nothing to capture */ }
  editor.current = [padPoint(ev)];
  editor.strokes.push(editor.current);
  redrawPad();
}

function onPadMove(ev) {
  if (ev.pointerId !== editor.pointer || !editor.current) return;
  ev.preventDefault();
  const events = typeof ev.getCoalescedEvents === 'function' ? ev.getCoalescedEvents() : [];
  for (const e of events.length ? events : [ev]) {
    if (countPoints() >= MAX_POINTS) break;
    const p = padPoint(e);
    const last = editor.current[editor.current.length - 1];
    if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 0.002) continue;
    editor.current.push(p);
  }
  redrawPad();
}

function onPadUp(ev) {
  if (ev.pointerId !== editor.pointer) return;
  editor.pointer = null;
  editor.current = null;
  redrawPad();
}

function redrawPad() {
  const pad = $('draw-pad');
  const r = pad.getBoundingClientRect();
  drawStrokes(pad, editor.strokes, r.width, r.height);
}

function applyField() {
  const f = editor.field;
  if (!f) return;
  const err = $('field-dialog-error');
  if (f.kind === 'signature' || f.kind === 'initials') {
    if (editor.mode === 'draw') {
      const strokes = editor.strokes.filter((s) => s.length > 0);
      if (!strokes.length) {
        err.textContent = 'Draw in the box, or choose “Type”.';
        return;
      }
      state.values.set(f.id, { strokes });
    } else {
      const text = $('type-input').value.trim();
      if (!text) {
        err.textContent = f.kind === 'initials' ? 'Type your initials.' : 'Type your name.';
        $('type-input').focus();
        return;
      }
      state.values.set(f.id, { text });
    }
  } else {
    const text = $('text-input').value.trim();
    if (!text && f.required) {
      err.textContent = 'This field is required.';
      $('text-input').focus();
      return;
    }
    if (text) state.values.set(f.id, { text });
    else state.values.delete(f.id);
  }
  closeField();
  status(`${fieldName(f)} filled.`);
}

function removeField() {
  const f = editor.field;
  if (!f) return;
  state.values.delete(f.id);
  closeField();
  status(`${fieldName(f)} cleared.`);
}

function closeField() {
  const f = editor.field;
  const dlg = $('field-dialog');
  if (dlg.open) dlg.close();
  editor.field = null;
  editor.pointer = null;
  editor.current = null;
  if (f) {
    paintBox(f);
    renderFieldList();
    const box = $('field-box-' + f.id);
    if (box) box.focus({ preventScroll: true });
  }
}

// ---------- step 3: consent and sign ----------

function missingFields() {
  return state.fields.filter((f) => f.required && !isFilled(f));
}

function updateSignButton() {
  const missing = missingFields();
  const parts = [];
  if (missing.length) parts.push(`Fill ${missing.length === 1 ? 'the required field' : 'the ' + missing.length + ' required fields'}: ${missing.map(fieldName).join(', ')}.`);
  if (!state.consented) parts.push('Check “I agree to sign electronically”.');
  $('sign-missing').textContent = parts.join(' ');
  $('sign-button').disabled = missing.length > 0 || !state.consented;
}

function toSign() {
  clear($('sign-error'));
  updateSignButton();
  show('sign-step', 'sign-heading');
}

async function onConsent() {
  const box = $('consent-check');
  clear($('sign-error'));
  if (!box.checked) {
    state.consented = false;
    updateSignButton();
    return;
  }
  box.disabled = true;
  status('Recording your consent…');
  try {
    const body = { consent: true };
    const sum = state.view && state.view.consent && state.view.consent.sha256;
    if (sum) body.consent_sha256 = sum;
    await sessionCall('POST', '/v1/recipient/consent', { json: body });
    state.consented = true;
    status('Consent recorded.');
  } catch (p) {
    box.checked = false;
    state.consented = false;
    status('');
    fail(p, $('sign-error'));
  } finally {
    box.disabled = false;
    updateSignButton();
  }
}

// thin returns strokes with at most max points in all: every k-th point
// of each stroke, keeping its ends.
function thin(strokes, max) {
  const n = strokes.reduce((a, st) => a + st.length, 0);
  if (n <= max) return strokes;
  const k = Math.ceil(n / max) + 1;
  return strokes.map((st) => st.filter((_, i) => i % k === 0 || i === st.length - 1));
}

function points(strokes) {
  return strokes.reduce((a, st) => a + st.length, 0);
}

// fitPoints thins the drawings of values so that they have at most limit
// points together.
function fitPoints(values, limit) {
  const total = values.reduce((a, v) => a + points(v.strokes), 0);
  if (total <= limit) return;
  const share = limit / total;
  for (const v of values) v.strokes = thin(v.strokes, Math.floor(points(v.strokes) * share));
}

function fieldValues() {
  const out = [];
  for (const f of state.fields) {
    if (f.kind === 'date') continue;
    const v = state.values.get(f.id);
    if (!v) continue;
    if (v.strokes && v.strokes.length) out.push({ id: f.id, strokes: v.strokes });
    else if (v.text) out.push({ id: f.id, text: v.text });
  }
  // The drawings of one document share one signature's budget, and one
  // request has its own: thinned to fit, each in proportion.
  const drawn = out.filter((v) => v.strokes);
  const byDocument = new Map();
  for (const v of drawn) {
    const doc = state.fields.find((f) => f.id === v.id).document_id;
    byDocument.set(doc, [...(byDocument.get(doc) || []), v]);
  }
  for (const vs of byDocument.values()) fitPoints(vs, MAX_DOCUMENT_POINTS);
  fitPoints(drawn, MAX_REQUEST_POINTS);
  return out;
}

async function sign() {
  const btn = $('sign-button');
  if (btn.disabled) return;
  btn.disabled = true;
  clear($('sign-error'));
  status('Signing… this takes a few seconds.');
  try {
    const body = Array.isArray(state.view.fields) ? { fields: fieldValues() } : {};
    state.signed = await sessionCall('POST', '/v1/recipient/sign', { json: body });
    status('Signed.');
    showDone();
  } catch (p) {
    status('');
    const type = p instanceof Problem ? (p.type || '').split('/').pop() : '';
    if (type === 'fields-incomplete') {
      show('review', 'review-heading');
      showProblem($('review-error'), p);
      renderFieldList();
    } else if (type === 'consent-required') {
      state.consented = false;
      $('consent-check').checked = false;
      $('sign-error').append(h('p', { class: 'alert', role: 'alert' }, 'Check “I agree to sign electronically” first.'));
    } else {
      fail(p, $('sign-error'));
    }
  } finally {
    updateSignButton();
  }
}

// ---------- step 4: done ----------

function showDone() {
  const res = state.signed || {};
  const acted = state.view.recipient && state.view.recipient.role === 'approver' ? 'approved' : 'signed';
  const n = (res.signed || []).length;
  $('done-text').textContent = `You ${acted} “${state.view.subject}”${n > 1 ? ` (${n} documents)` : ''}. Thank you.`;
  const completed = !!res.completed;
  $('done-completed').classList.remove('hidden');
  $('done-completed').textContent = completed
    ? 'Every party has now signed: the envelope is complete and sealed. You will receive an e-mail saying so; the sender can share the final documents with you.'
    : 'Others still have to sign. You will receive an e-mail when everyone has signed.';
  // Once the envelope is complete, its links and sessions close: the
  // documents come from the sender then.
  $('download-panel').classList.toggle('hidden', completed || n === 0);
  $('download-signed').textContent = n > 1 ? 'Download signed documents' : 'Download signed document';
  clear($('done-error'));
  show('done', 'done-heading');
  document.title = 'Signet — Done';
}

async function download() {
  const btn = $('download-signed');
  btn.disabled = true;
  clear($('done-error'));
  status('Preparing the download…');
  try {
    for (const s of state.signed.signed || []) {
      const d = (state.view.documents || []).find((x) => x.document_id === s.document_id) || {};
      const blob = await sessionCall('GET', '/v1/recipient/documents/' + encodeURIComponent(s.document_id), { accept: 'blob' });
      const base = (d.name || 'document').replace(/\.pdf$/i, '');
      saveBlob(blob, `${base} (signed).pdf`);
    }
    status('Downloaded.');
  } catch (p) {
    status('');
    const type = p instanceof Problem ? (p.type || '').split('/').pop() : '';
    const box = $('done-error');
    clear(box);
    if (type === 'envelope-ended') {
      box.append(h('p', { class: 'alert', role: 'alert' }, 'The envelope has ended, so this page can no longer fetch its documents. The sender can share the final documents with you.'));
    } else if (type === 'invalid-session') {
      box.append(h('p', { class: 'alert', role: 'alert' }, 'Your session has ended. The sender can share the signed documents with you.'));
    } else {
      showProblem(box, p instanceof Problem ? p : new Problem({ status: 0, title: 'The download failed', detail: 'Check your connection and try again.' }));
    }
  } finally {
    btn.disabled = false;
  }
}

// ---------- decline ----------

function openDecline() {
  $('decline-error').textContent = '';
  $('decline-reason').removeAttribute('aria-invalid');
  $('decline-dialog').showModal();
  $('decline-reason').focus();
}

async function decline() {
  const reason = $('decline-reason').value.trim();
  if (!reason) {
    $('decline-error').textContent = 'Please give a reason: the sender sees it.';
    $('decline-reason').setAttribute('aria-invalid', 'true');
    $('decline-reason').focus();
    return;
  }
  const btn = $('decline-confirm');
  btn.disabled = true;
  try {
    await sessionCall('POST', '/v1/recipient/decline', { json: { reason } });
    $('decline-dialog').close();
    notice('you-declined');
  } catch (p) {
    if (problemKind(p) || (p instanceof Problem && p.type && p.type.endsWith('invalid-session'))) {
      $('decline-dialog').close();
      fail(p);
    } else {
      $('decline-error').textContent = (p instanceof Problem && (p.detail || p.title)) || 'The request failed; try again.';
    }
  } finally {
    btn.disabled = false;
  }
}

// ---------- start ----------

function bind() {
  $('send-code').addEventListener('click', sendCode);
  $('resend-code').addEventListener('click', sendCode);
  $('code-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = $('code').value.trim();
    if (!code) {
      clear($('verify-error'));
      $('verify-error').append(h('p', { class: 'alert', role: 'alert' }, 'Enter the code.'));
      $('code').focus();
      return;
    }
    verifyCode(code);
  });
  $('passkey-confirm').addEventListener('click', confirmPasskey);
  $('next-field').addEventListener('click', nextField);
  $('to-sign').addEventListener('click', toSign);
  $('back-to-review').addEventListener('click', () => show('review', 'review-heading'));
  $('consent-check').addEventListener('change', onConsent);
  $('sign-button').addEventListener('click', sign);
  $('download-signed').addEventListener('click', download);
  for (const id of ['decline-open', 'decline-open-2']) $(id).addEventListener('click', openDecline);
  $('decline-cancel').addEventListener('click', () => $('decline-dialog').close());
  $('decline-confirm').addEventListener('click', decline);
  $('mode-draw').addEventListener('click', () => setMode('draw'));
  $('mode-type').addEventListener('click', () => setMode('type'));
  $('type-input').addEventListener('input', updatePreview);
  $('draw-undo').addEventListener('click', () => { editor.strokes.pop(); redrawPad(); });
  $('draw-clear').addEventListener('click', () => { editor.strokes = []; redrawPad(); });
  // Enter in the editor's inputs submits it, as "Apply" does.
  $('field-form').addEventListener('submit', (ev) => { ev.preventDefault(); applyField(); });
  $('field-remove').addEventListener('click', removeField);
  $('field-cancel').addEventListener('click', closeField);
  $('field-dialog').addEventListener('cancel', (ev) => { ev.preventDefault(); closeField(); });
  const pad = $('draw-pad');
  pad.addEventListener('pointerdown', onPadDown);
  pad.addEventListener('pointermove', onPadMove);
  pad.addEventListener('pointerup', onPadUp);
  pad.addEventListener('pointercancel', onPadUp);
  window.addEventListener('resize', () => { if ($('field-dialog').open && editor.mode === 'draw') sizePad(); });
}

function main() {
  bind();
  const raw = location.hash.slice(1);
  if (location.hash) {
    // The token never stays in the address bar, the history or a bookmark.
    history.replaceState(null, '', location.pathname + location.search);
  }
  if (!raw) return notice('no-link');
  if (!TOKEN_RE.test(raw)) return notice('malformed-link');
  state.link = raw;
  startVerify();
}

main();
