// signet.js: the shared helpers of Signet's pages. Every page is a static
// HTML file with one module script; its data come from the JSON API through
// api(), and its elements are built with h() or textContent, never from
// HTML strings (the Content-Security-Policy forbids inline script, and
// data never become markup).

const CSRF_KEY = 'signet.csrf';

/** An API error: the RFC 9457 problem the server answered (or one made up
 *  for a network failure, status 0). */
export class Problem extends Error {
  constructor({status = 0, type = 'about:blank', title = '', detail = '', errors = null} = {}) {
    super(detail || title || `request failed (${status})`);
    this.name = 'Problem';
    this.status = status;
    this.type = type;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
  }
}

/** Remembers the console session's CSRF token (sent on unsafe methods). */
export function setCSRF(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

/** Forgets the console session's CSRF token. */
export function clearCSRF() {
  sessionStorage.removeItem(CSRF_KEY);
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Calls the API on this origin.
 *   json:    a value sent as application/json
 *   body:    a File or Blob sent as is, with its own type
 *   token:   a bearer token (recipient link, API key); without it, unsafe
 *            methods carry the console's CSRF token
 *   headers: more request headers
 *   accept:  "json" (default) | "blob" | "text": how the answer is read
 * Every POST carries a fresh Idempotency-Key. A non-2xx answer throws a
 * Problem. A 204 resolves to null.
 */
export async function api(method, path, {json, body, token, headers, accept = 'json'} = {}) {
  method = method.toUpperCase();
  const hdrs = new Headers(headers || {});
  let payload;
  if (json !== undefined) {
    hdrs.set('Content-Type', 'application/json');
    payload = JSON.stringify(json);
  } else if (body !== undefined && body !== null) {
    if (body.type && !hdrs.has('Content-Type')) hdrs.set('Content-Type', body.type);
    payload = body;
  }
  if (token) {
    hdrs.set('Authorization', `Bearer ${token}`);
  } else if (!SAFE.has(method)) {
    const csrf = sessionStorage.getItem(CSRF_KEY);
    if (csrf) hdrs.set('X-CSRF-Token', csrf);
  }
  if (method === 'POST' && !hdrs.has('Idempotency-Key')) hdrs.set('Idempotency-Key', crypto.randomUUID());
  if (accept === 'json' && !hdrs.has('Accept')) hdrs.set('Accept', 'application/json, application/problem+json');
  let res;
  try {
    res = await fetch(path, {method, headers: hdrs, body: payload, credentials: 'same-origin', cache: 'no-store'});
  } catch (err) {
    throw new Problem({status: 0, title: 'Network error', detail: 'The service could not be reached. Check your connection and try again.'});
  }
  if (!res.ok) throw await problemFrom(res);
  if (res.status === 204) return null;
  switch (accept) {
    case 'blob': return res.blob();
    case 'text': return res.text();
    default: {
      const text = await res.text();
      return text ? JSON.parse(text) : null;
    }
  }
}

async function problemFrom(res) {
  let p = {};
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { p = await res.json(); } catch (_) { p = {}; }
  }
  return new Problem({
    status: res.status,
    type: p.type || 'about:blank',
    title: p.title || res.statusText || 'Request failed',
    detail: p.detail || '',
    errors: p.errors || null,
  });
}

/**
 * Builds an element: h('button', {class: 'primary', id: 'send', onclick: fn}, 'Send').
 * attrs: class, id, for, type, on<event> functions, aria-*, data-* and
 * others as attributes (true: present, false/null/undefined: absent);
 * children: nodes, strings (text nodes), numbers, arrays, null (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : String(v);
    } else if (k === 'for') {
      el.htmlFor = String(v);
    } else if (k === 'value' && 'value' in el) {
      el.value = String(v);
    } else if (k === 'checked' || k === 'disabled' || k === 'selected') {
      el[k] = Boolean(v);
      if (v) el.setAttribute(k, '');
    } else if (k === 'style') {
      throw new Error('h: no inline style attribute (CSP); use a class or element.style');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Shows problem (a Problem or any Error) in container as an accessible
 *  alert, replacing what was there; null clears it. */
export function showProblem(container, problem) {
  container.replaceChildren();
  if (!problem) {
    container.classList.add('hidden');
    return;
  }
  const title = problem.title || 'Something went wrong';
  const detail = problem.detail || (problem.title ? '' : problem.message);
  const items = Array.isArray(problem.errors)
    ? problem.errors.map((e) => h('li', {}, typeof e === 'string' ? e : [e.field || e.pointer || e.name || '', e.field || e.pointer || e.name ? ': ' : '', e.detail || e.message || JSON.stringify(e)]))
    : [];
  container.appendChild(h('div', {class: 'alert', role: 'alert'},
    h('strong', {}, title),
    detail ? h('p', {}, detail) : null,
    items.length ? h('ul', {}, items) : null));
  container.classList.remove('hidden');
}

/** Offers blob to the user as a download named filename. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: filename, class: 'hidden'});
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Formats an ISO 8601 time for people, in their locale and zone; '' for
 *  none and the input itself when it is not a time. */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short'});
}
