// verify.js: the public verification page. A person drops or chooses a
// signed PDF or an evidence bundle (.zip); the page posts it to
// POST /v1/verify (public, nothing stored) and shows the report: the
// overall verdict, then each signature, time-stamp and finding with a
// badge and its details in an expandable section.

import {api, h, showProblem, fmtTime} from '/static/signet.js';

const input = document.getElementById('verify-file');
const zone = document.getElementById('drop-zone');
const submit = document.getElementById('verify-submit');
const status = document.getElementById('verify-status');
const errorBox = document.getElementById('verify-error');
const report = document.getElementById('verify-report');
const verdictBox = document.getElementById('verify-verdict');
const details = document.getElementById('verify-details');

let chosen = null;

function choose(file) {
  chosen = file || null;
  submit.disabled = !chosen;
  status.textContent = chosen ? `Selected: ${chosen.name} (${formatSize(chosen.size)})` : '';
  showProblem(errorBox, null);
}

function formatSize(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

input.addEventListener('change', () => choose(input.files[0]));

zone.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  zone.classList.add('dragging');
});
zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
zone.addEventListener('drop', (ev) => {
  ev.preventDefault();
  zone.classList.remove('dragging');
  const file = ev.dataTransfer && ev.dataTransfer.files[0];
  if (file) choose(file);
});

submit.addEventListener('click', verify);

// mediaType names the upload's type from its name when the browser gives
// none (the server recognizes the file by its first bytes anyway).
function mediaType(file) {
  if (file.type) return file.type;
  return /\.zip$/i.test(file.name) ? 'application/zip' : 'application/pdf';
}

async function verify() {
  if (!chosen) return;
  submit.disabled = true;
  status.textContent = `Verifying ${chosen.name}…`;
  showProblem(errorBox, null);
  report.classList.add('hidden');
  try {
    const answer = await api('POST', '/v1/verify', {body: chosen, headers: {'Content-Type': mediaType(chosen)}});
    render(answer);
    status.textContent = `Verified ${chosen.name}.`;
    report.classList.remove('hidden');
    report.focus();
  } catch (err) {
    status.textContent = '';
    showProblem(errorBox, err);
  } finally {
    submit.disabled = !chosen;
  }
}

// The verdict words and badge classes.
const VERDICTS = {
  valid: {label: 'Valid', cls: 'ok'},
  invalid: {label: 'Invalid', cls: 'bad'},
  indeterminate: {label: 'Indeterminate', cls: 'warn'},
};

const STATUS = {
  passed: {label: 'Passed', cls: 'ok'},
  failed: {label: 'Failed', cls: 'bad'},
  indeterminate: {label: 'Indeterminate', cls: 'warn'},
  not_checked: {label: 'Not checked', cls: ''},
};

function badge(kind, table, extra = {}) {
  const v = table[kind] || {label: kind || 'Unknown', cls: ''};
  return h('span', {class: ['badge', v.cls], ...extra}, v.label);
}

function fact(name, value) {
  if (value === undefined || value === null || value === '') return null;
  return [h('dt', {}, name), h('dd', {}, value)];
}

function facts(...rows) {
  return h('dl', {class: 'facts'}, rows.filter(Boolean));
}

function render(answer) {
  verdictBox.replaceChildren();
  details.replaceChildren();
  if (answer.kind === 'bundle') renderBundle(answer.report);
  else renderPDFReport(answer.report);
}

// pdfVerdict: the document's overall verdict from its signatures.
function pdfVerdict(r) {
  const sigs = r.signatures || [];
  if (r.valid) return 'valid';
  if (sigs.length === 0 || sigs.some((s) => s.verdict === 'invalid')) return 'invalid';
  return 'indeterminate';
}

function overall(verdict, title, sentence) {
  const v = VERDICTS[verdict];
  verdictBox.appendChild(h('div', {class: ['card', 'verdict', `verdict-${verdict}`], id: 'verdict', 'data-verdict': verdict},
    h('p', {class: 'verdict-line'}, h('span', {class: ['badge', 'big', v.cls], id: 'verdict-badge'}, v.label), ' ', h('strong', {}, title)),
    h('p', {id: 'verdict-text'}, sentence)));
}

function renderPDFReport(r) {
  const verdict = pdfVerdict(r);
  const sigs = r.signatures || [];
  const n = sigs.length;
  let sentence;
  if (n === 0) sentence = 'The document has no signature.';
  else if (verdict === 'valid') sentence = `All ${n === 1 ? 'the signature' : `${n} signatures and time-stamps`} verified, and the document was not changed after signing except as the rules allow.`;
  else if (verdict === 'invalid') sentence = 'At least one signature failed: the document or a signature was changed, or a signature is not genuine.';
  else sentence = 'The signatures could not be fully confirmed (trust, time or revocation information is missing). See the details below.';
  overall(verdict, 'PDF document', sentence);
  details.appendChild(pdfSection(r, 'pdf'));
}

// pdfSection lists a PDF report's signatures; prefix keeps ids unique
// when a bundle holds several documents.
function pdfSection(r, prefix) {
  const sigs = r.signatures || [];
  const section = h('div', {class: 'pdf-report'});
  section.appendChild(facts(
    fact('File size', formatSize(r.size || 0)),
    fact('Revisions', String(r.revisions ?? '')),
  ));
  if (r.renewal) {
    section.appendChild(h('p', {class: 'muted'},
      `Latest time-stamp ${fmtTime(r.renewal.time)} by ${r.renewal.authority}; `,
      r.renewal.needed ? `renewal needed since ${fmtTime(r.renewal.not_after)}.` : `archive renewal due by ${fmtTime(r.renewal.not_after)}.`));
  }
  if (sigs.length === 0) {
    section.appendChild(h('p', {}, 'No signature was found in this document.'));
  }
  const list = h('ol', {class: 'signature-list'});
  sigs.forEach((s, i) => list.appendChild(signatureItem(s, `${prefix}-sig-${i + 1}`)));
  section.appendChild(list);
  return section;
}

function signatureItem(s, id) {
  const isTS = s.kind === 'document-timestamp';
  const who = isTS ? (s.timestamp_authority && s.timestamp_authority.subject) : (s.signer && s.signer.subject);
  const when = s.timestamp_time ? `${fmtTime(s.timestamp_time)} (time-stamped)` : (s.claimed_time ? `${fmtTime(s.claimed_time)} (claimed by the signer)` : '');
  const kind = isTS ? 'Document time-stamp' : (s.kind === 'certification' ? 'Certification signature' : 'Signature');
  const checks = h('ul', {class: 'checks'}, (s.checks || []).map((c) =>
    h('li', {}, badge(c.status, STATUS), ' ', h('span', {class: 'mono'}, c.name), c.detail ? h('span', {class: 'muted'}, ` — ${c.detail}`) : null)));
  return h('li', {class: 'card signature', id, 'data-verdict': s.verdict},
    h('div', {class: 'signature-head'},
      badge(s.verdict, VERDICTS, {'data-role': 'verdict'}),
      h('h3', {}, `${kind}: ${s.field}`)),
    facts(
      fact(isTS ? 'Authority' : 'Signed by', who || 'unknown'),
      fact('Time', when),
      fact('Level', s.level && s.level !== 'none' ? s.level : ''),
      fact('Result', s.indication + (s.sub_indication ? ` / ${s.sub_indication}` : '')),
    ),
    s.reason ? h('p', {class: 'reason'}, s.reason) : null,
    (s.modifications || []).length ? h('div', {class: 'alert'}, h('strong', {}, 'Changes after signing that are not allowed'), h('ul', {}, s.modifications.map((m) => h('li', {}, m)))) : null,
    h('details', {id: `${id}-details`},
      h('summary', {}, 'Details'),
      facts(
        fact('Signer certificate', s.signer ? `${s.signer.subject}, issued by ${s.signer.issuer}, serial ${s.signer.serial}, valid ${fmtTime(s.signer.not_before)} – ${fmtTime(s.signer.not_after)}` : ''),
        fact('Time-stamp authority', s.timestamp_authority ? s.timestamp_authority.subject : ''),
        fact('Algorithms', [s.digest_algorithm, s.signature_algorithm].filter(Boolean).join(', ')),
        fact('Format', s.sub_filter),
        fact('Revision', s.revision ? `${s.revision}${s.covers_whole_file ? ' (covers the whole file)' : ''}` : ''),
        fact('Allowed later changes', (s.permitted_changes || []).join('; ')),
        fact('Warnings', (s.warnings || []).map((w) => `${w.name}: ${w.detail}`).join('; ')),
      ),
      h('h4', {}, 'Checks'),
      checks));
}

const BUNDLE = {VALID: 'valid', INVALID: 'invalid', INDETERMINATE: 'indeterminate'};

function renderBundle(r) {
  const verdict = BUNDLE[r.indication] || 'indeterminate';
  const sentence = verdict === 'valid'
    ? 'The evidence bundle is complete and intact: its seal, time-stamp, documents and audit trail all verified.'
    : verdict === 'invalid'
      ? 'Something in the evidence bundle was changed or contradicts the rest. See the findings below.'
      : 'The evidence bundle could not be fully confirmed (trust or time information is missing). See the findings below.';
  overall(verdict, `Evidence bundle${r.envelope_id ? ` of envelope ${r.envelope_id}` : ''}`, sentence);
  details.appendChild(h('div', {class: 'card'},
    facts(
      fact('Envelope', r.envelope_id),
      fact('Tenant', r.tenant),
      fact('Checked at', fmtTime(r.validation_time)),
      fact('Time-stamp', r.timestamp ? `${fmtTime(r.timestamp.time)} by ${r.timestamp.authority}; renewal due by ${fmtTime(r.timestamp.renewal_due)}` : 'none'),
      fact('Result', r.sub_indication ? `${r.indication} / ${r.sub_indication}` : r.indication),
    )));
  const findings = r.findings || [];
  const fsec = h('section', {class: 'card', id: 'bundle-findings', 'aria-labelledby': 'findings-title'},
    h('h3', {id: 'findings-title'}, findings.length ? `Findings (${findings.length})` : 'Findings'));
  if (findings.length === 0) fsec.appendChild(h('p', {}, 'No finding: nothing is missing or contradicted.'));
  else {
    fsec.appendChild(h('ul', {class: 'findings'}, findings.map((f) =>
      h('li', {'data-code': f.code},
        badge(BUNDLE[f.indication] || 'indeterminate', VERDICTS), ' ',
        h('span', {class: 'mono'}, f.code), ' — ', f.detail,
        f.path ? h('span', {class: 'muted'}, ` (${f.path})`) : null))));
  }
  details.appendChild(fsec);
  details.appendChild(h('details', {class: 'card', id: 'bundle-checks'},
    h('summary', {}, 'Checks'),
    h('ul', {class: 'checks'}, (r.checks || []).map((c) =>
      h('li', {}, badge(c.status, STATUS), ' ', h('span', {class: 'mono'}, c.name), c.detail ? h('span', {class: 'muted'}, ` — ${c.detail}`) : null)))));
  const docs = Object.entries(r.documents || {});
  docs.forEach(([path, rep], i) => {
    const v = pdfVerdict(rep);
    details.appendChild(h('details', {class: 'card', id: `bundle-doc-${i + 1}`},
      h('summary', {}, badge(v, VERDICTS), ' ', h('span', {class: 'mono'}, path)),
      pdfSection(rep, `doc-${i + 1}`)));
  });
}

// The page is ready: its handlers are attached.
document.documentElement.dataset.ready = 'verify';
