/* retrain operator console. No framework, no network but this app's own JSON API.
   Every value from the API is put on the page as text (never as HTML). */
'use strict';

(function () {
  const API = document.body.dataset.api || '/api';
  const KEY_NAME = 'retrain.functionKey';
  const main = document.getElementById('main');
  const noticeBox = document.getElementById('notice');
  const forgetButton = document.getElementById('forget-key');
  const ACTIVE = new Set(['queued', 'running']);
  const PAGE = 20; // rows a list shows first, and adds with each "Show more"
  let timers = [];
  let serverOffsetMs = 0; // server clock minus browser clock, from the Date header
  let generation = 0; // bumps on every navigation: late answers of an old view are dropped

  // ---- DOM helpers -------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else if (name === 'text') el.textContent = value;
      else el.setAttribute(name, value === true ? '' : String(value));
    }
  }

  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  /** Replace what ``box`` shows; the element that had the focus in it keeps it (found again
      by what it is), so a polled list never throws a keyboard user back to the page top. */
  function swap(box, ...children) {
    const active = document.activeElement;
    const key = active && active !== box && box.contains(active) ? focusKey(active) : null;
    box.replaceChildren();
    append(box, children);
    if (key === null) return;
    const again = [...box.querySelectorAll('a, button, input, select, textarea, [tabindex]')]
      .find((el) => focusKey(el) === key);
    if (again) again.focus({ preventScroll: true });
  }
  function focusKey(el) {
    return [el.tagName, el.id, el.getAttribute('href') || '',
      el.getAttribute('aria-label') || el.textContent.trim()].join('|');
  }

  function section(title, id, ...children) {
    return h('section', { 'aria-labelledby': id }, h('h2', { id, text: title }), ...children);
  }

  /** A table; on a phone (CSS .stack) one card per row, each cell named by its column and
      the ``status`` column's cell first. */
  function table(caption, columns, rows, empty, opts) {
    const o = opts || {};
    if (!rows.length) return h('p', { class: 'empty', text: empty || 'Nothing yet.' });
    return h('div', { class: 'table-wrap stack', tabindex: 0, role: 'region', 'aria-label': caption },
      h('table', { class: o.class || null },
        h('caption', { class: 'visually-hidden', text: caption }),
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => {
          const attrs = { 'data-label': columns[i] || null, class: i === o.status ? 'status-cell' : null };
          return i === 0 ? h('th', { scope: 'row', ...attrs }, c) : h('td', attrs, c);
        }))))));
  }

  /** Newest first, PAGE rows at a time: the first ``state.shown`` of ``rows`` and a button
      for PAGE more while there are more (``total`` null: unknown, the server was asked for
      ``state.shown`` rows; it may hold more when it sent that many). */
  function paged(state, noun, caption, columns, rows, empty, opts, total) {
    const shown = rows.slice(0, state.shown);
    const more = total === null ? rows.length >= state.shown : total > state.shown;
    const list = table(caption, columns, shown, empty, opts);
    if (more && state.shown >= state.most) { // as many as one API answer holds
      return h('div', {}, list, h('p', { class: 'pager', text: `Showing the newest ${shown.length} ${noun}, the most one list holds.` }));
    }
    if (!more) return list;
    const count = total === null ? `the newest ${shown.length}` : `the newest ${shown.length} of ${total}`;
    return h('div', {}, list, h('p', { class: 'pager' }, `Showing ${count} ${noun}.`,
      h('button', { type: 'button', class: 'more', text: `Show ${PAGE} more`,
        'aria-label': `Show ${PAGE} more ${noun}`, onclick: () => {
          state.focusRow = state.shown;
          state.shown = Math.min(state.shown + PAGE, state.most);
          state.render();
        } })));
  }
  const RUNS_MOST = 500; // the API's largest runs ?limit=
  function pageState(render, most) { return { shown: PAGE, focusRow: null, render, most: most || Infinity }; }
  /** After "Show more": the focus goes to the first new row (its link, else its header). */
  function focusNewRow(box, state) {
    if (state.focusRow === null) return;
    const row = box.querySelectorAll('tbody tr')[state.focusRow];
    state.focusRow = null;
    if (!row) { // nothing more came: the list itself
      const wrap = box.querySelector('.table-wrap');
      if (wrap) wrap.focus();
      return;
    }
    let target = row.querySelector('a, button');
    if (!target) { target = row.firstElementChild; target.setAttribute('tabindex', '-1'); }
    target.focus();
  }

  function dl(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter((p) => p).map(([k, v]) => [
      h('dt', { text: k }), h('dd', {}, v === null || v === undefined || v === '' ? '–' : v),
    ]));
  }

  function link(href, text) { return h('a', { href, text }); }
  function badge(word) {
    const label = String(word || '–').replace(/_/g, ' ');
    return h('span', { class: `badge badge-${String(word || 'none')}`, text: label });
  }
  function txt(x) { return x === null || x === undefined || x === '' ? '–' : String(x); }
  function num(x, digits = 4) {
    return typeof x === 'number' ? x.toFixed(digits) : '–';
  }
  function signed(x) {
    return typeof x === 'number' ? (x >= 0 ? '+' : '') + x.toFixed(4) : '–';
  }
  function count(x) { return typeof x === 'number' ? x.toLocaleString('en') : '–'; }
  function pct(x) { return typeof x === 'number' ? `${(x * 100).toFixed(1)} %` : '–'; }
  function plural(n, word) { return `${n} ${word}${n === 1 ? '' : 's'}`; }
  function listOf(names, most = 12) {
    return names.length > most ? `${names.slice(0, most).join(', ')} and ${names.length - most} more` : names.join(', ');
  }
  function duration(seconds) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return 'an unknown time';
    if (seconds < 10) return `${seconds.toFixed(1)} s`;
    if (seconds < 60) return `${Math.round(seconds)} s`;
    const whole = Math.round(seconds);
    if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
    return `${Math.floor(whole / 3600)} h ${Math.round((whole % 3600) / 60)} min`;
  }
  function modelHref(name) { return `#/models/${encodeURIComponent(name)}`; }
  function versionHref(name, v) { return `${modelHref(name)}/versions/${v}`; }
  function compareHref(name, a, b) { return `${modelHref(name)}/compare/${a}/${b}`; }
  function runHref(id) { return `#/runs/${encodeURIComponent(id)}`; }
  function batchHref(id) { return `#/batches/${encodeURIComponent(id)}`; }

  function ago(iso) {
    if (!iso) return '–';
    const seconds = Math.max(0, (Date.now() + serverOffsetMs - Date.parse(iso)) / 1000);
    if (!Number.isFinite(seconds)) return '–';
    if (seconds < 60) return `${Math.round(seconds)} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} days ago`;
  }
  function when(iso) {
    if (!iso) return '–';
    return h('time', { datetime: iso, title: iso, text: ago(iso) });
  }
  function pad2(n) { return String(n).padStart(2, '0'); }
  /** An absolute time in the viewer's time zone; on hover, the same time in UTC and how
      long ago it was. */
  function at(iso) {
    const local = localText(iso);
    if (local === '–') return local;
    const utc = `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
    return h('time', { datetime: iso, title: `${utc} (${ago(iso)})`, text: local });
  }
  function localText(iso) {
    const d = new Date(iso || '');
    if (!iso || !Number.isFinite(d.getTime())) return '–';
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  }
  function timeZoneName() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time'; } catch (err) { return 'local time'; }
  }
  /** Candidate minus champion on the same rows, coloured by its sign. */
  function deltaCell(delta) {
    if (typeof delta !== 'number') return '–';
    return h('span', { class: delta > 0 ? 'up' : (delta < 0 ? 'down' : null), text: signed(delta) });
  }

  // ---- notices -----------------------------------------------------------------------
  function notice(message, kind) {
    noticeBox.replaceChildren();
    if (!message) return;
    noticeBox.className = `notice notice-${kind || 'info'}`;
    noticeBox.append(...(Array.isArray(message) ? message : [message]));
  }

  // ---- the API -----------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || `the app answered HTTP ${status}`);
      this.status = status;
      this.code = err.code || '';
      this.details = err;
    }
  }
  class KeyRefused extends Error {}

  function key() { return sessionStorage.getItem(KEY_NAME); }

  async function api(path, options) {
    const opts = options || {};
    const secret = key();
    if (!secret) throw new KeyRefused('no key');
    const headers = { 'x-functions-key': secret, Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(`${API}/${path}`, {
        method: opts.method || 'GET',
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        cache: 'no-store',
        credentials: 'same-origin',
        referrerPolicy: 'no-referrer',
      });
    } catch (err) {
      throw new ApiError(0, { error: { code: 'unreachable',
        message: 'the app did not answer; check that it is running and reachable' } });
    }
    const date = response.headers.get('Date');
    if (date) serverOffsetMs = Date.parse(date) - Date.now();
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(KEY_NAME);
      throw new KeyRefused('refused');
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  /** Words for an error, with a link where one helps. */
  function explain(err, action) {
    if (err instanceof KeyRefused) return [`${action}: the function key was refused.`];
    const d = err.details || {};
    if (err.code === 'run_already_active') {
      return [`${action}: ${d.model || 'this model'} already has a run queued or running (`,
        link(runHref(d.run_id), d.run_id), '). Wait for it to finish, then start again.'];
    }
    const prefix = {
      0: 'Cannot reach the app',
      400: 'The request was not accepted',
      404: 'Not found',
      409: 'Conflict',
      413: 'Too large',
      422: 'Refused',
      500: 'The app failed',
      503: 'A backend is unavailable',
    }[err.status] || `HTTP ${err.status}`;
    return [`${action}: ${prefix}: ${err.message}`];
  }

  function failed(err, action) {
    if (err instanceof KeyRefused) { askForKey('The function key was refused. Enter a valid key.'); return; }
    notice(explain(err, action), 'error');
  }

  // ---- key ---------------------------------------------------------------------------
  function askForKey(problem) {
    stopTimers();
    forgetButton.hidden = true;
    const input = h('input', {
      id: 'key-input', name: 'key', type: 'password', autocomplete: 'off', required: true,
      spellcheck: 'false', 'aria-describedby': 'key-help',
    });
    const form = h('form', { class: 'card key-form', onsubmit: (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY_NAME, value);
      input.value = '';
      notice('');
      route();
    } },
    h('h1', { tabindex: -1, text: 'Function key' }),
    h('p', { id: 'key-help', text: 'The console reads and changes models through the app\'s ' +
      'API, which needs a function key (or the key `retrain console` printed). It is kept in ' +
      'this browser tab only and sent in the x-functions-key header, never in a link.' }),
    problem ? h('p', { class: 'error', role: 'alert', id: 'key-error', text: problem }) : null,
    h('label', { for: 'key-input', text: 'Function key' }), input,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', text: 'Use this key' })));
    main.replaceChildren(form);
    input.focus();
  }

  forgetButton.addEventListener('click', () => {
    sessionStorage.removeItem(KEY_NAME);
    askForKey('');
  });

  // ---- polling -----------------------------------------------------------------------
  function stopTimers() {
    timers.forEach(clearTimeout);
    timers = [];
  }
  /** Call ``load`` now and again after the delay it returns (ms; 0 stops), while the view
      lives. A hidden tab is not polled; it catches up within 10 s of being shown. */
  function poll(load) {
    const mine = generation;
    const tick = async () => {
      if (mine !== generation) return;
      let delay = 10000;
      if (!document.hidden) {
        try { delay = await load(); } catch (err) { failed(err, 'Refreshing'); delay = 15000; }
      }
      if (mine === generation && key() && delay) timers.push(setTimeout(tick, delay));
    };
    return tick();
  }

  // ---- starting runs -------------------------------------------------------------------
  function retrainForm(models, label, onStarted) {
    const id = models === 'all' ? 'all' : 'one';
    const dry = h('input', { type: 'checkbox', id: `dry-${id}`, name: 'dry_run' });
    const reason = h('input', { type: 'text', id: `reason-${id}`, name: 'reason', maxlength: 500,
      placeholder: 'e.g. new plant data' });
    const button = h('button', { type: 'submit', class: 'primary', text: label });
    return h('form', { class: 'card inline-form', 'aria-label': label, onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      try {
        if (models === 'all' && !(await confirmAll(dry.checked))) {
          notice('Nothing started.', 'info');
          return;
        }
        const body = { models, reason: reason.value.trim(), dry_run: dry.checked };
        const started = await api('training', { method: 'POST', body });
        const said = [];  // one part per outcome, joined by '; '
        if (started.runs.length) {
          said.push([started.runs[0].dry_run ? 'Dry run queued: ' : 'Queued: ',
            ...started.runs.flatMap((r, i) => [...(i ? [', '] : []), link(runHref(r.run_id), r.model)])]);
        }
        started.skipped.forEach((skip) => said.push(skip.active_run_id
          ? [`${skip.model} skipped (already has run `, link(runHref(skip.active_run_id), skip.active_run_id), ')']
          : [`${skip.model} skipped: ${skip.reason}`]));  // over the per-model start limit
        const failed = started.failed || [];
        failed.forEach((f) => said.push([`${f.model} not started: ${f.error}`]));
        notice(said.flatMap((part, i) => [...(i ? ['; '] : []), ...part]), failed.length ? 'error' : 'ok');
        reason.value = '';
        if (onStarted) await onStarted();
      } catch (err) {
        failed(err, 'Starting the run');
      } finally {
        button.disabled = false;
        if (document.activeElement === document.body && button.isConnected) button.focus();
      }
    } },
    h('div', { class: 'field' }, h('label', { for: `reason-${id}`, text: 'Reason (optional)' }), reason),
    h('div', { class: 'field check' }, dry, h('label', { for: `dry-${id}`, text: 'Dry run: validate the data, publish nothing' })),
    button);
  }

  /** "Retrain all" names what it starts and what the last batch cost; true: go ahead. */
  async function confirmAll(dryRun) {
    const [listed, recent] = await Promise.all([api('models'), api('training/runs?limit=200')]);
    const names = listed.models.map((m) => m.name);
    const busy = listed.models.filter((m) => m.active_run).map((m) => m.name);
    const n = names.length;
    const what = dryRun ? 'a dry run (load and validate the data, publish nothing)' : 'a training run';
    const lines = [
      `Starts ${what} for each of the ${plural(n, 'registered model')}: ${listOf(names)}.`,
      busy.length ? `${busy.length} of them already ${busy.length === 1 ? 'has' : 'have'} a run queued ` +
        `or running and will be skipped: ${listOf(busy)}.` : null,
      batchText(lastBatch(recent.runs, dryRun), dryRun),
    ].filter((line) => line);
    return confirmDialog(dryRun ? `Dry-run all ${plural(n, 'model')}?` : `Retrain all ${plural(n, 'model')}?`,
      lines, dryRun ? `Start ${plural(n, 'dry run')}` : `Retrain ${plural(n, 'model')}`);
  }

  /** The newest batch (runs started together, one batch id) among ``runs`` (newest
      first), of dry runs or of training runs: its size, when it started (its first run's
      start, else its queueing), how long it took to its last finish, whether it still runs. */
  function lastBatch(runs, dryRun) {
    const newest = runs.find((r) => r.batch_id && Boolean(r.dry_run) === dryRun);
    if (!newest) return null;
    const members = runs.filter((r) => r.batch_id === newest.batch_id);
    const times = (field) => members.map((r) => Date.parse(r[field] || '')).filter(Number.isFinite);
    const starts = times('started_at');
    const start = Math.min(...(starts.length ? starts : times('created_at')));
    const ends = times('finished_at');
    const end = ends.length ? Math.max(...ends) : NaN;
    const active = members.filter((r) => ACTIVE.has(r.status)).length;
    return {
      size: members.length,
      active,
      failed: members.filter((r) => r.status === 'failed').length,
      startedAt: Number.isFinite(start) ? new Date(start).toISOString() : null,
      finishedAt: Number.isFinite(end) ? new Date(end).toISOString() : null,
      seconds: !active && Number.isFinite(start) && end >= start ? (end - start) / 1000 : null,
    };
  }
  function batchText(batch, dryRun) {
    const kind = dryRun ? 'dry-run batch' : 'batch';
    if (!batch) return `Last ${kind}: no ${kind} yet.`;
    const size = plural(batch.size, 'model');
    if (batch.active) {
      return `Last ${kind}: ${size}, started ${ago(batch.startedAt)}, still running ` +
        `(${batch.size - batch.active} of ${batch.size} finished).`;
    }
    return `Last ${kind}: ${size}, took ${duration(batch.seconds)} from its first start to its ` +
      `last finish, ${ago(batch.finishedAt)}` + (batch.failed ? `; ${batch.failed} failed.` : '.');
  }

  function confirmDialog(title, lines, okLabel) {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').replaceChildren(...lines.map((l) => h('p', {}, l)));
    const ok = document.getElementById('confirm-ok');
    ok.textContent = okLabel;
    return new Promise((resolve) => {
      const form = document.getElementById('confirm-form');
      const cancel = document.getElementById('confirm-cancel');
      const done = (answer) => {
        form.onsubmit = null; cancel.onclick = null; dialog.oncancel = null;
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      form.onsubmit = (event) => { event.preventDefault(); done(true); };
      cancel.onclick = () => done(false);
      dialog.oncancel = (event) => { event.preventDefault(); done(false); };
      dialog.showModal();
      cancel.focus();
    });
  }

  // ---- choosing a version: a field with suggestions, not a select of every version -------
  /** "12", "v12" or "v12 · promoted · …" (a suggestion as chosen): 12; else null. */
  function versionNumber(text) {
    const m = /^\s*v?\s*(\d{1,9})(?!\d)/i.exec(text || '');
    return m ? Number(m[1]) : null;
  }
  function versionWords(v) {
    return `v${v.version} · ${String(v.status).replace(/_/g, ' ')} · ${num(v.score)}` +
      (v.champion ? ' · champion' : '');
  }
  /** Suggestions for every version field of a model page (newest first). */
  function versionChoices(list) {
    return list.filter((v) => !v.error).slice().reverse()
      .map((v) => h('option', { value: `v${v.version}`, label: versionWords(v).slice(`v${v.version} · `.length) }));
  }
  /** What the field's text names, in words, under the field (read out as it changes). */
  function versionHint(list, text) {
    const readable = list.filter((v) => !v.error);
    if (!readable.length) return 'No versions yet.';
    const range = `v${readable[0].version} to v${readable[readable.length - 1].version}`;
    const n = versionNumber(text);
    if (!String(text || '').trim()) return `${plural(readable.length, 'version')}, ${range}: type a number or pick one.`;
    const found = readable.find((v) => v.version === n);
    if (found) return `${versionWords(found)}, created ${ago(found.created_at)}.`;
    return n === null ? `Type a version number (${range}).` : `No readable version ${n} (versions run ${range}).`;
  }
  function versionField(id, label, list) {
    const input = h('input', { id, name: id, type: 'text', list: 'version-choices', inputmode: 'numeric',
      autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': `${id}-hint`,
      placeholder: 'e.g. 12' });
    const hint = h('p', { id: `${id}-hint`, class: 'hint', 'aria-live': 'polite' });
    const field = h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hint);
    field.input = input;
    field.describe = () => { hint.textContent = versionHint(list(), input.value); };
    field.pick = () => list().find((v) => !v.error && v.version === versionNumber(input.value)) || null;
    input.addEventListener('input', field.describe);
    return field;
  }

  // ---- promoting -----------------------------------------------------------------------
  function promoteForm(model, onMoved) {
    let versions = [];
    let champion = null;
    const choice = versionField('promote-version', 'Version to serve', () => versions);
    const reason = h('textarea', { id: 'promote-reason', name: 'reason', required: true, rows: 2,
      maxlength: 500, 'aria-describedby': 'promote-help' });
    const button = h('button', { type: 'submit', class: 'primary', text: 'Review the change…' });
    const form = h('form', { class: 'card', id: 'promote-form', novalidate: true, onsubmit: async (event) => {
      event.preventDefault();
      const picked = choice.pick();
      const why = reason.value.trim();
      if (!picked) {
        notice(choice.input.value.trim() ? versionHint(versions, choice.input.value) : 'Choose the version that should serve.', 'error');
        choice.input.focus();
        return;
      }
      const version = picked.version;
      if (!why) { notice('Say why: the reason is kept in the alias history.', 'error'); reason.focus(); return; }
      const verb = champion && version < champion ? 'Roll back' : 'Promote';
      const yes = await confirmDialog(`${verb} ${model}?`, [
        `Make v${version} the champion of ${model}` + (champion ? ` instead of v${champion}` : '') + '.',
        `Reason: ${why}`,
        'Its artifact is verified (sha256 and trusted types) before the alias moves.',
      ], `${verb} to v${version}`);
      if (!yes) { notice('Nothing changed.', 'info'); return; }
      button.disabled = true;
      try {
        const moved = await api(`models/${encodeURIComponent(model)}/champion`, {
          method: 'POST', body: { version, reason: why } });
        notice(`${model} champion is now v${moved.version}.`, 'ok');
        reason.value = '';
        choice.input.value = '';
        await onMoved();
      } catch (err) {
        failed(err, `Moving the ${model} champion`);
      } finally {
        button.disabled = false;
      }
    } },
    choice,
    h('div', { class: 'field grow' }, h('label', { for: 'promote-reason', text: 'Reason (required)' }), reason),
    h('p', { id: 'promote-help', class: 'help', text: 'Promote a kept version or roll back to an older one. You confirm before anything changes.' }),
    button);
    form.update = (list, current) => { versions = list; champion = current; choice.describe(); };
    form.choose = (version) => { choice.input.value = `v${version}`; choice.describe(); reason.focus(); };
    return form;
  }

  // ---- approving: a version awaiting approval (spec approval="required") -----------------
  /** The card of the version that awaits approval (none when none does): its score beside
      the champion's, the deadline, a reason, Approve / Reject (each confirmed first). The
      same rules as Slack's buttons and `retrain approve` (service/approval.py). */
  function approvalCard(model, onDecided) {
    const card = h('div', { id: 'approval', class: 'card approval', hidden: true });
    let pending = null;
    const reason = h('textarea', { id: 'approval-reason', name: 'reason', required: true, rows: 2,
      maxlength: 500, 'aria-describedby': 'approval-help' });
    const facts = h('p', { id: 'approval-facts' });
    async function decide(decision) {
      const why = reason.value.trim();
      if (!why) { notice('Say why: the reason is kept with the decision.', 'error'); reason.focus(); return; }
      const v = pending;
      const approve = decision === 'approve';
      const yes = await confirmDialog(`${approve ? 'Approve' : 'Reject'} ${model} v${v.version}?`, [
        approve ? `v${v.version} becomes the champion of ${model}` + (v.gate && v.gate.champion_version ? ` instead of v${v.gate.champion_version}` : '') + '.'
          : `v${v.version} will never serve; the champion stays.`,
        `Reason: ${why}`,
      ], `${approve ? 'Approve' : 'Reject'} v${v.version}`);
      if (!yes) { notice('Nothing changed.', 'info'); return; }
      for (const b of card.querySelectorAll('button')) b.disabled = true;
      try {
        const done = await api(`models/${encodeURIComponent(model)}/versions/${v.version}/approval`, {
          method: 'POST', body: { decision, reason: why } });
        notice(`${model} v${v.version} ${done.decision}` + (approve ? ': it is the champion.' : '.'), 'ok');
        reason.value = '';
        await onDecided();
      } catch (err) {
        failed(err, `Deciding on ${model} v${v.version}`);
      } finally {
        for (const b of card.querySelectorAll('button')) b.disabled = false;
      }
    }
    card.append(h('h3', { id: 'approval-title', text: 'Awaiting approval' }), facts,
      h('div', { class: 'field grow' }, h('label', { for: 'approval-reason', text: 'Reason (required)' }), reason),
      h('p', { id: 'approval-help', class: 'help', text: 'Approve to make it the champion, or reject it. You confirm before anything changes; a newer version, a moved champion or a passed deadline refuses the decision.' }),
      h('div', { class: 'approval-actions' },
        h('button', { type: 'button', class: 'primary', id: 'approve-button', text: 'Approve…', onclick: () => decide('approve') }),
        h('button', { type: 'button', class: 'danger', id: 'reject-button', text: 'Reject…', onclick: () => decide('reject') })));
    card.update = (list) => {
      pending = list.find((v) => !v.error && v.approval && v.approval.state === 'awaiting') || null;
      card.hidden = !pending;
      if (!pending) return;
      const g = pending.gate || {};
      const versus = typeof g.champion === 'number' ? ` vs champion v${g.champion_version} ${num(g.champion)} (${signed(g.delta)})` : ' (no champion yet)';
      facts.textContent = `v${pending.version}: ${txt(pending.metric)} ${num(pending.score)}${versus}; ` +
        `the gate said: ${txt(g.reason)}. Decide by ${txt(pending.approval.expires_at).slice(0, 16).replace('T', ' ')} UTC.`;
    };
    card.focusOn = () => { card.scrollIntoView({ block: 'center' }); reason.focus(); };
    return card;
  }
  /** A version's gate outcome, or what became of its approval. */
  function approvalBadge(v) {
    if (!v.approval) return badge(v.status);
    const a = v.approval;
    const word = a.state === 'awaiting' ? 'awaiting_approval' : a.state;
    const who = a.actor ? ` by ${a.actor}` : '';
    return h('span', { title: a.reason ? `${word.replace(/_/g, ' ')}${who}: ${a.reason}` : null }, badge(word), who);
  }

  // ---- comparing two versions: the facts of `retrain diff` (service/compare.py) ---------
  function compareForm(model) {
    let versions = [];
    let champion = null;
    let touched = false;
    const a = versionField('compare-a', 'Version', () => versions);
    const b = versionField('compare-b', 'compared with', () => versions);
    for (const f of [a, b]) f.input.addEventListener('input', () => { touched = true; });
    const form = h('form', { class: 'card inline-form', id: 'compare-form', novalidate: true,
      'aria-label': 'Compare two versions', onsubmit: (event) => {
        event.preventDefault();
        const [pa, pb] = [a.pick(), b.pick()];
        const bad = !pa ? a : (!pb ? b : null);
        if (bad) { notice(versionHint(versions, bad.input.value), 'error'); bad.input.focus(); return; }
        if (pa.version === pb.version) { notice('Choose two different versions.', 'error'); b.input.focus(); return; }
        notice('');
        location.hash = compareHref(model, pa.version, pb.version);
      } },
    a, b, h('button', { type: 'submit', text: 'Compare' }),
    h('p', { class: 'help', text: 'Metrics, per-class scores, gate decisions, parameters, data window and profile side by side (what `retrain diff` shows).' }));
    form.update = (list, current) => {
      versions = list;
      champion = current;
      const readable = list.filter((v) => !v.error).map((v) => v.version);
      if (!touched && readable.length >= 2) {
        const newest = readable[readable.length - 1];
        const other = champion && champion !== newest ? champion : readable[readable.length - 2];
        a.input.value = `v${Math.min(other, newest)}`;
        b.input.value = `v${Math.max(other, newest)}`;
      }
      a.describe(); b.describe();
    };
    return form;
  }

  const GATE_KEYS = ['outcome', 'reason', 'metric', 'candidate', 'champion', 'champion_version'];
  const FEATURE_KINDS = ['numeric', 'categorical', 'boolean', 'text', 'target'];
  // a card's metrics that are counts, not scores (Python tells 608 from 608.0; JSON cannot)
  const COUNT_METRICS = new Set(['test_rows']);
  function obj(x) { return x && typeof x === 'object' && !Array.isArray(x) ? x : {}; }
  function own(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  function get(o, k) { return own(o, k) && o[k] !== undefined ? o[k] : null; } // dict.get
  function keysOf(...maps) { return [...new Set(maps.flatMap((m) => Object.keys(m)))].sort(); }
  function round6(x) { return Math.round(x * 1e6) / 1e6; }
  function same(x, y) { return JSON.stringify(x) === JSON.stringify(y); } // null: NaN or None
  function byText(x, y) { return x < y ? -1 : (x > y ? 1 : 0); }

  /** Two model cards compared: the same records as ``retrain.service.compare.compare``
      (``retrain diff --json``), computed here from the cards the API answers. */
  function compareCards(a, b) {
    const ma = obj(a.metrics), mb = obj(b.metrics);
    const metrics = keysOf(ma, mb).filter((k) => {
      const v = own(ma, k) ? ma[k] : mb[k]; // a's value decides, as in Python
      return !COUNT_METRICS.has(k) && typeof v === 'number';
    }).map((k) => {
      const x = get(ma, k), y = get(mb, k);
      return { metric: k, a: x, b: y, delta: typeof x === 'number' && typeof y === 'number' ? round6(y - x) : null };
    });
    const pa = obj(obj(a.estimator).params), pb = obj(obj(b.estimator).params);
    const la = obj(a.library_versions), lb = obj(b.library_versions);
    const fa = obj(a.data_fingerprint), fb = obj(b.data_fingerprint);
    const gate = (card) => Object.fromEntries(GATE_KEYS.map((k) => [k, get(obj(card.gate), k)]));
    const params = keysOf(pa, pb).map((k) => ({ param: k, a: get(pa, k), b: get(pb, k) }));
    // a text column's options where both versions read text, as "text.<option>"
    const ta = obj(obj(a.text_features).options), tb = obj(obj(b.text_features).options);
    if (Object.keys(ta).length && Object.keys(tb).length) {
      params.push(...keysOf(ta, tb).map((k) => ({ param: `text.${k}`, a: get(ta, k), b: get(tb, k) })));
    }
    return {
      model: get(a, 'model'),
      a: get(a, 'version'),
      b: get(b, 'version'),
      primary_metric: get(b, 'primary_metric'),
      metrics,
      gate: { a: gate(a), b: gate(b) },
      params: params.filter((p) => !same(p.a, p.b)),
      data_window: { a: get(a, 'data_window'), b: get(b, 'data_window') },
      rows: { a: get(a, 'rows'), b: get(b, 'rows') },
      corrections: { a: get(a, 'corrections'), b: get(b, 'corrections') },
      same_rows: Boolean(fa.rows_sha256) && get(fa, 'rows_sha256') === get(fb, 'rows_sha256'),
      same_query: get(fa, 'query_sha256') === get(fb, 'query_sha256'),
      feature_schema: schemaChanges(obj(a.feature_schema), obj(b.feature_schema)),
      class_distribution: classShares(obj(a.class_distribution), obj(b.class_distribution)),
      library_versions: keysOf(la, lb).map((k) => ({ library: k, a: get(la, k), b: get(lb, k) }))
        .filter((x) => !same(x.a, x.b)),
    };
  }
  function schemaChanges(a, b) {
    const changes = [];
    for (const kind of FEATURE_KINDS) {
      const before = new Set(get(a, kind) || []), after = new Set(get(b, kind) || []);
      changes.push(...[...after].filter((c) => !before.has(c)).sort().map((column) => ({ kind, column, change: 'added' })));
      changes.push(...[...before].filter((c) => !after.has(c)).sort().map((column) => ({ kind, column, change: 'removed' })));
    }
    return changes;
  }
  function classShares(a, b) {
    const sum = (m) => Object.values(m).reduce((t, n) => t + (n || 0), 0) || 1;
    const ta = sum(a), tb = sum(b);
    return keysOf(a, b).map((label) => {
      const na = get(a, label) || 0, nb = get(b, label) || 0;
      return { class: label, a: na, b: nb, a_share: round6(na / ta), b_share: round6(nb / tb),
        share_delta: round6(nb / tb - na / ta) };
    }).sort((x, y) => Math.abs(y.share_delta) - Math.abs(x.share_delta) || (y.a + y.b) - (x.a + x.b) || byText(x.class, y.class));
  }

  /** Per-class scores of both cards, the largest change in F1 first. */
  function perClassRows(a, b) {
    const ca = obj(obj(a.metrics).per_class), cb = obj(obj(b.metrics).per_class);
    return keysOf(ca, cb).map((label) => {
      const x = obj(ca[label]), y = obj(cb[label]);
      const change = typeof x.f1 === 'number' && typeof y.f1 === 'number' ? y.f1 - x.f1 : null;
      return { label, x, y, change };
    }).sort((p, q) => (q.change === null ? -1 : Math.abs(q.change)) - (p.change === null ? -1 : Math.abs(p.change)) || byText(p.label, q.label));
  }

  // ---- a data profile, per feature (training/profile.py writes it) ---------------------
  const SPARK = '▁▂▃▄▅▆▇█';
  function short(x) {
    if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
    const size = Math.abs(x);
    if (size >= 1000) return Math.round(x).toLocaleString('en');
    if (size >= 10) return x.toFixed(1);
    return Number(x.toPrecision(3)).toString();
  }
  /** A numeric column's buckets: [low, high) and rows; a bucket holding one value only (the
      profile isolates common values) is a point. */
  function buckets(col) {
    const edges = Array.isArray(col.edges) ? col.edges : [];
    const counts = Array.isArray(col.counts) ? col.counts : [];
    return counts.map((n, i) => {
      const low = i > 0 ? edges[i - 1] : null, high = i < edges.length ? edges[i] : null;
      const point = typeof low === 'number' && typeof high === 'number' && high - low <= Math.abs(low) * 1e-9 + 1e-300;
      return { low, high, n: n || 0, point };
    });
  }
  function topShares(counts, other, most) {
    const entries = Object.entries(obj(counts)).filter(([, n]) => typeof n === 'number');
    const total = entries.reduce((t, [, n]) => t + n, 0) + (typeof other === 'number' ? other : 0);
    if (!total) return 'no values';
    entries.sort((x, y) => y[1] - x[1] || byText(x[0], y[0]));
    const shown = entries.slice(0, most).map(([k, n]) => `${k} ${Math.round((100 * n) / total)} %`);
    const rest = entries.length - most + (other ? 1 : 0);
    return shown.join(' · ') + (rest > 0 ? ` · ${rest} more` : '');
  }
  function histogram(parts) {
    const max = Math.max(1, ...parts.map((p) => p.n));
    const bars = parts.map((p) => (p.n ? SPARK[Math.min(7, Math.floor((p.n / max) * 8))] : ' ')).join('');
    return h('span', { class: 'spark', role: 'img', text: bars,
      'aria-label': `histogram of ${parts.length} buckets: ${parts.map((p) => p.n).join(', ')} rows` });
  }
  /** One feature's distribution in a few words (or a small text histogram). */
  function distribution(col) {
    const c = obj(col);
    if (c.kind === 'numeric') {
      const parts = buckets(c);
      const filled = parts.filter((p) => p.n);
      const moments = `mean ${short(c.mean)} · sd ${short(c.std)}`;
      if (filled.length && filled.every((p) => p.point)) { // a few common values: name them
        return `${topShares(Object.fromEntries(filled.map((p) => [short(p.low), p.n])), 0, 4)} · ${moments}`;
      }
      if (!filled.length) return 'no values';
      const edges = (c.edges || []).filter((e) => typeof e === 'number');
      const range = edges.length ? ` · cut at ${short(edges[0])} … ${short(edges[edges.length - 1])}` : '';
      return h('span', {}, histogram(parts), ` ${moments}${range}`);
    }
    if (c.kind === 'categorical' || c.kind === 'boolean') return topShares(c.counts, c.other, 3);
    if (c.kind === 'text') {
      const tokens = Object.entries(obj(c.tokens)).sort((x, y) => y[1] - x[1] || byText(x[0], y[0]));
      const words = tokens.slice(0, 4).map(([t]) => t).join(', ');
      return `${short(obj(c.length).mean)} characters on average · ${count(c.empty)} empty` +
        (words ? ` · most common words: ${words}` : '');
    }
    return '–';
  }
  /** Per feature: kind, missing share, distribution; from a profile of format 2 (format 1,
      written before, has null rates only). */
  function profileFeatures(profile) {
    const p = obj(profile);
    const columns = obj(p.columns);
    const rates = obj(p.null_rates);
    return keysOf(columns, rates).map((name) => {
      const col = obj(columns[name]);
      const rows = typeof col.rows === 'number' ? col.rows : p.rows;
      const missing = typeof rates[name] === 'number' ? rates[name]
        : (typeof col.missing === 'number' && rows ? col.missing / rows : null);
      return { name, kind: col.kind || null, missing, col: own(columns, name) ? col : null };
    });
  }
  const DRIFT_RULES = new Set(['feature_shift', 'new_categories', 'vanished_categories', 'vocabulary_shift', 'label_shift', 'new_classes']);
  function findingsOf(findings, column) {
    const mine = (findings || []).filter((f) => f && f.column === column);
    if (!mine.length) return '–';
    return h('ul', { class: 'plain' }, mine.map((f) => h('li', {},
      badge(DRIFT_RULES.has(f.rule) ? 'drift' : f.severity), ' ', f.message || f.rule || '')));
  }
  function profileTable(profile, findings) {
    const features = profileFeatures(profile);
    return table('Data profile per feature', ['Feature', 'Kind', 'Missing', 'Distribution', 'Findings (drift against the champion)'],
      features.map((f) => [f.name, txt(f.kind), pct(f.missing), f.col ? distribution(f.col) : 'not recorded', findingsOf(findings, f.name)]),
      'The profile names no features.');
  }

  // ---- the metric chart --------------------------------------------------------------
  const MARK = { promoted: 'circle', kept_champion: 'diamond', rejected: 'cross' };
  /** The decay checks that scored a plotted version, each placed after its version on the
      version axis (evenly between it and the next plotted version, in time order). */
  function decayMarks(decay, points) {
    const versions = points.map((p) => p.version);
    const checks = (decay || []).filter((d) => !d.error && typeof d.score === 'number' && versions.includes(d.version));
    return checks.map((d) => {
      const mine = checks.filter((c) => c.version === d.version);
      const next = versions.find((v) => v > d.version);
      const span = next === undefined ? 1 : next - d.version;
      return { ...d, at: d.version + (span * (mine.indexOf(d) + 1)) / (mine.length + 1) };
    });
  }

  function metricChart(model, metric, floor, versions, decay) {
    const points = versions.filter((v) => typeof v.score === 'number');
    if (!points.length) return h('p', { class: 'empty', text: 'No scored versions yet.' });
    const checks = decayMarks(decay, points);
    // drawn at the width it is shown at, so its text keeps its size on a phone
    const W = Math.round(Math.max(300, Math.min(1000, main.clientWidth - 40)));
    const H = W < 520 ? 220 : 280, L = 52, R = 16, T = 22, B = 40;
    const values = points.map((p) => p.score).concat(points.map((p) => (p.gate && p.gate.champion) || p.score))
      .concat(checks.map((d) => d.score));
    if (typeof floor === 'number') values.push(floor);
    let lo = Math.min(...values), hi = Math.max(...values);
    const pad = Math.max((hi - lo) * 0.1, 0.01);
    lo = Math.max(0, lo - pad); hi = Math.min(1, hi + pad);
    if (hi <= lo) hi = lo + 0.01;
    const first = points[0].version;
    const last = Math.max(points[points.length - 1].version, ...checks.map((d) => Math.ceil(d.at)));
    const x = (v) => L + (last === first ? (W - L - R) / 2 : ((v - first) / (last - first)) * (W - L - R));
    const y = (m) => T + (1 - (m - lo) / (hi - lo)) * (H - T - B);
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'group',
      'aria-label': `${metric} of ${model} across ${points.length} versions` +
        (checks.length ? ` and ${plural(checks.length, 'decay check')} of the champion on new rows` : '') +
        '; each version mark links to its model card' });
    for (let i = 0; i <= 4; i++) {
      const m = lo + ((hi - lo) * i) / 4;
      svg.append(s('line', { x1: L, x2: W - R, y1: y(m), y2: y(m), class: 'grid' }),
        s('text', { x: L - 6, y: y(m) + 4, class: 'tick', 'text-anchor': 'end', text: m.toFixed(3) }));
    }
    const step = Math.max(1, Math.ceil(points.length / Math.floor((W - L - R) / 48)));
    points.forEach((p, i) => {
      if (i % step === 0 || i === points.length - 1) {
        svg.append(s('text', { x: x(p.version), y: H - B + 16, class: 'tick', 'text-anchor': 'middle', text: `v${p.version}` }));
      }
    });
    svg.append(s('text', { x: (L + W - R) / 2, y: H - 4, class: 'axis', 'text-anchor': 'middle', text: 'version' }));
    if (typeof floor === 'number' && floor >= lo && floor <= hi) {
      svg.append(s('line', { x1: L, x2: W - R, y1: y(floor), y2: y(floor), class: 'floor' }),
        s('text', { x: W - R, y: y(floor) - 4, class: 'tick', 'text-anchor': 'end', text: `floor ${floor}` }));
    }
    svg.append(s('polyline', { class: 'series', points: points.map((p) => `${x(p.version)},${y(p.score)}`).join(' ') }));
    for (const p of points) {
      const cx = x(p.version), cy = y(p.score);
      const gate = p.gate || {};
      const g = s('a', { href: versionHref(model, p.version), class: `mark mark-${p.status}` });
      const title = `v${p.version}: ${String(p.status).replace(/_/g, ' ')}, ${metric} ${num(p.score)}` +
        (typeof gate.champion === 'number' ? `; champion v${gate.champion_version} scored ${num(gate.champion)} on the same holdout` : '') +
        (gate.reason ? `; gate: ${gate.reason}` : '') + (p.champion ? '; current champion' : p.served ? '; served as champion' : '');
      g.setAttribute('aria-label', title);
      g.append(s('title', { text: title }));
      if (typeof gate.champion === 'number') {
        g.append(s('line', { x1: cx, x2: cx, y1: y(gate.champion), y2: cy, class: 'gate-link' }),
          s('line', { x1: cx - 5, x2: cx + 5, y1: y(gate.champion), y2: y(gate.champion), class: 'gate-tick' }));
      }
      const shape = MARK[p.status] || 'circle';
      if (shape === 'circle') g.append(s('circle', { cx, cy, r: 5, class: 'shape' }));
      if (shape === 'diamond') g.append(s('path', { d: `M${cx} ${cy - 6}L${cx + 6} ${cy}L${cx} ${cy + 6}L${cx - 6} ${cy}Z`, class: 'shape' }));
      if (shape === 'cross') g.append(s('path', { d: `M${cx - 5} ${cy - 5}L${cx + 5} ${cy + 5}M${cx + 5} ${cy - 5}L${cx - 5} ${cy + 5}`, class: 'shape' }));
      if (p.served) g.append(s('circle', { cx, cy, r: 9, class: p.champion ? 'ring champion' : 'ring' }));
      const anchor = cx > W - R - 40 ? 'end' : (cx < L + 40 ? 'start' : 'middle');
      if (p.champion) g.append(s('text', { x: cx + (anchor === 'end' ? 9 : 0), y: cy - 14, 'text-anchor': anchor, class: 'label', text: 'champion' }));
      svg.append(g);
    }
    for (const d of checks) { // a triangle: the champion scored on the rows that came after it
      const cx = x(d.at), cy = y(d.score);
      const alarm = d.status === 'decaying' || d.status === 'below_floor';
      const title = `decay check ${localText(d.checked_at)}: champion v${d.version} scored ${metric} ${num(d.score)} ` +
        `on ${count(d.rows)} new rows (card ${num(d.card_score)}, ${signed(d.delta)}): ${String(d.status).replace(/_/g, ' ')}`;
      svg.append(s('g', { class: alarm ? 'decay decay-alarm' : 'decay', role: 'img', tabindex: 0, 'aria-label': title },
        s('title', { text: title }),
        s('path', { d: `M${cx} ${cy - 7}L${cx + 7} ${cy + 5}L${cx - 7} ${cy + 5}Z`, class: 'shape' })));
    }
    const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' },
      h('li', {}, h('span', { class: 'key key-promoted' }), 'promoted by the gate'),
      h('li', {}, h('span', { class: 'key key-kept_champion' }), 'kept champion (worse than it)'),
      h('li', {}, h('span', { class: 'key key-rejected' }), 'rejected (below the floor)'),
      h('li', {}, h('span', { class: 'key key-ring' }), 'served as champion (bold: now)'),
      h('li', {}, h('span', { class: 'key key-gate' }), 'champion\u2019s score on the same holdout'),
      checks.length ? h('li', { class: 'legend-decay' }, h('span', { class: 'key key-decay' }),
        'champion on each month\u2019s new rows (decay check; filled: decaying)') : null);
    return h('figure', { class: 'chart-box' }, svg, h('figcaption', {}, legend));
  }

  // ---- health (service/health.py derives it; the list and the model page show it) ---------
  const SOURCES = { decay_check: 'decay check', holdout: 'holdout of a run that kept it' };
  function newScore(m) {
    const n = m.champion_new_score;
    if (!n) return null;
    return h('span', { class: m.status === 'decaying' ? 'new-score down' : 'new-score',
      title: `${SOURCES[n.source] || n.source}, ${n.at || ''}` },
      `${num(n.score)} on new data`);
  }
  function driftCell(m) {
    const n = m.drift_findings;
    if (typeof n !== 'number') return '–';
    const text = n ? plural(n, 'finding') : 'none';
    const run = m.last_finished && m.last_finished.run_id;
    return n && run ? h('a', { href: runHref(run), text, 'aria-label': `${text} of drift in run ${run}` }) : text;
  }
  function failureCell(m) {
    const f = m.last_failure;
    if (!f) return '–';
    return h('span', { class: 'failure' },
      h('a', { href: runHref(f.run_id), text: `failed in ${f.stage || '?'}`, 'aria-label': `Run ${f.run_id} failed in ${f.stage || '?'}` }),
      ' ', when(f.finished_at),
      f.message ? h('span', { class: 'failure-message', text: f.message.length > 90 ? `${f.message.slice(0, 89)}…` : f.message }) : null);
  }
  function healthFacts(m) { // the model page's block: the same facts as the list, with reasons
    const reasons = m.reasons || [];
    return [
      ['Status', h('span', { class: 'health' }, badge(m.status || 'unknown'),
        reasons.length ? h('ul', { class: 'plain reasons' }, reasons.map((r) => h('li', { text: r }))) : null)],
      ['Champion on new data', m.champion_new_score
        ? h('span', {}, newScore(m), ` (${SOURCES[m.champion_new_score.source] || m.champion_new_score.source}, `,
          when(m.champion_new_score.at), ')')
        : 'not scored on new data yet'],
      ['Drift findings', driftCell(m)],
      ['Last failure', failureCell(m)],
    ];
  }

  // ---- views ---------------------------------------------------------------------------
  async function modelsView() {
    const body = h('div', {});
    main.replaceChildren(
      h('h1', { tabindex: -1, text: 'Models' }),
      retrainForm('all', 'Retrain all models', () => load()),
      section('Registered models', 'models-title', body));
    async function load() {
      const data = await api('models');
      const rows = data.models.map((m) => {
        const last = m.last_run;
        return [
          link(modelHref(m.name), m.name),
          badge(m.status || 'unknown'),
          m.champion_version ? `v${m.champion_version}` : 'none',
          typeof m.champion_score === 'number'
            ? h('span', {}, `${num(m.champion_score)} ${m.primary_metric}`, newScore(m)) : '–',
          driftCell(m),
          failureCell(m),
          txt(m.versions),
          last ? h('a', { href: runHref(last.run_id), class: 'last-run' }, last.error && !last.status ? 'unreadable ' : null,
            last.status ? badge(last.status === 'succeeded' ? (last.outcome || 'succeeded') : last.status) : null,
            last.dry_run ? ' dry run ' : ' ', when(last.finished_at || last.created_at)) : 'never',
          m.active_run ? link(runHref(m.active_run), 'running or queued') : '–',
          m.error ? h('span', { class: 'error', text: m.error.message }) : (m.description || ''),
        ];
      });
      swap(body, table('Registered models', // failing, decaying, drifting first (the API's order)
        ['Model', 'Status', 'Champion', 'Score', 'Drift', 'Last failure', 'Versions', 'Last run', 'Active run', 'Description'], rows,
        'No classifiers are registered.', { status: 1 }));
      return data.models.some((m) => m.active_run) ? 2000 : 10000;
    }
    await poll(load);
  }

  async function modelView(name) {
    const enc = encodeURIComponent(name);
    const parts = {
      head: h('div', {}), chart: h('div', {}), versions: h('div', {}),
      runs: h('div', {}), history: h('div', {}), feedback: h('div', {}),
    };
    const choices = h('datalist', { id: 'version-choices' });
    const promote = promoteForm(name, () => loadModel());
    const approval = approvalCard(name, () => loadModel());
    const compare = compareForm(name);
    main.replaceChildren(
      h('p', { class: 'crumbs' }, link('#/', 'Models'), ' › ', name),
      h('h1', { tabindex: -1, text: name }), parts.head,
      retrainForm([name], `Retrain ${name}`, () => loadRuns()),
      section('Primary metric across versions', 'chart-title', parts.chart),
      section('Versions', 'versions-title', approval, parts.versions),
      section('Compare two versions', 'compare-title', compare),
      section('Promote or roll back', 'promote-title', promote),
      section('Runs', 'runs-title', parts.runs),
      section('Corrections from people', 'feedback-title', parts.feedback),
      section('Alias history', 'history-title', parts.history), choices);
    let list = [];
    let history = [];
    const pages = {
      versions: pageState(() => renderVersions()),
      history: pageState(() => renderHistory()),
      runs: pageState(() => loadRuns().catch((err) => failed(err, 'Loading more runs')), RUNS_MOST),
    };
    let seenFinished = null; // finished run ids at the last look, and the oldest run then
    let oldestSeen = '';

    function renderVersions() {
      swap(parts.versions, paged(pages.versions, 'versions', `Versions of ${name}`,
        ['Version', 'Created', 'Gate outcome', 'Score', 'vs champion', 'Gate decision', 'Serves', ''],
        list.slice().reverse().map((v) => v.error ? [`v${v.version}`, '–', badge('unreadable'), '–', '–', v.error.message, '–', ''] : [
          link(versionHref(name, v.version), `v${v.version}`),
          when(v.created_at),
          approvalBadge(v),
          num(v.score),
          v.gate ? signed(v.gate.delta) : '–',
          v.gate ? txt(v.gate.reason) : '–',
          v.champion ? h('strong', { text: 'champion' }) : (v.served ? 'served before' : '–'),
          v.champion ? '' : v.approval && v.approval.state === 'awaiting' ? h('button', { type: 'button',
            class: 'quiet', text: 'Approve or reject…', 'aria-label': `Approve or reject v${v.version}`,
            onclick: () => approval.focusOn() }) : h('button', { type: 'button', class: 'quiet', text: 'Make champion…',
            'aria-label': `Make v${v.version} champion`,
            onclick: () => { promote.choose(v.version); promote.scrollIntoView({ block: 'center' }); } }),
        ]), 'No versions yet: start a run.', { status: 2 }, list.length));
      focusNewRow(parts.versions, pages.versions);
    }

    function renderHistory() {
      swap(parts.history, paged(pages.history, 'changes', `Alias history of ${name}`,
        ['When', 'Change', 'By', 'Reason', 'Run'],
        history.slice().reverse().map((e) => e.error ? [e.key || '?', 'unreadable', '', '', ''] : [
          when(e.moved_at),
          `${e.previous_version ? `v${e.previous_version}` : 'none'} → v${e.version}`,
          txt(e.actor), txt(e.reason),
          e.run_id ? link(runHref(e.run_id), e.run_id) : '–',
        ]), 'The champion has never moved.', {}, history.length));
      focusNewRow(parts.history, pages.history);
    }

    async function loadModel() {
      const [models, versions, moves, corrections] = await Promise.all([
        api('models'), api(`models/${enc}/versions`), api(`models/${enc}/history`),
        api(`models/${enc}/feedback`).catch(() => null)]);
      swap(parts.feedback, feedbackPanel(corrections));
      const model = models.models.find((m) => m.name === name) || {};
      swap(parts.head, dl([
        ['Predicts', model.description],
        ['Primary metric', `${txt(model.primary_metric)} (floor ${txt(model.metric_floor)})`],
        ['Champion', model.champion_version ? link(versionHref(name, model.champion_version), `v${model.champion_version} · ${num(model.champion_score)}`) : 'none yet'],
        ...(model.name ? healthFacts(model) : []),
        model.error ? ['Problem', h('span', { class: 'error', text: model.error.message })] : null,
      ]));
      list = versions.versions;
      history = moves.history;
      swap(parts.chart, metricChart(name, model.primary_metric, model.metric_floor, list, moves.decay));
      choices.replaceChildren(...versionChoices(list));
      promote.update(list, model.champion_version);
      approval.update(list);
      compare.update(list, model.champion_version);
      renderVersions();
      renderHistory();
    }

    let runsAsked = 0;
    async function loadRuns() {
      const asked = ++runsAsked; // a poll and "Show more" may overlap: the last asked wins
      const data = await api(`training/runs?model=${enc}&limit=${pages.runs.shown}`);
      if (asked !== runsAsked) return 1500;
      const runs = data.runs;
      const finished = runs.filter((r) => !ACTIVE.has(r.status)).map((r) => r.run_id);
      // a run that finished since the last look (not one an older page brought): new version?
      const fresh = seenFinished && finished.some((id) => !seenFinished.has(id) && id >= oldestSeen);
      seenFinished = new Set(finished);
      oldestSeen = runs.length ? runs[runs.length - 1].run_id : '';
      if (fresh) await loadModel();
      swap(parts.runs, paged(pages.runs, 'runs', 'Runs', ...runsColumns(runs, false), 'No runs yet.', { status: 1, class: 'runs-table' }, null));
      focusNewRow(parts.runs, pages.runs);
      return runs.some((r) => ACTIVE.has(r.status)) ? 1500 : 10000;
    }

    await loadModel();
    await poll(loadRuns);
  }

  /** People's corrections of a model (GET models/{name}/feedback, service/feedback.py). */
  function feedbackPanel(fb) {
    if (!fb) return h('p', { class: 'empty', text: 'The corrections could not be read.' });
    const m = obj(fb.this_month);
    return h('div', {},
      dl([
        ['This month', `${plural(m.received || 0, 'correction')} in ${m.batches === 1 ? '1 batch' : `${count(m.batches)} batches`}` +
          (m.refused ? `, ${count(m.refused)} records refused` : '')],
        ['Live agreement', typeof m.agreement === 'number'
          ? `${pct(m.agreement)}: the prediction was right in ${count(m.agreed)} of ${count(m.received)} corrections`
          : '– (no corrections this month)'],
        ['Training uses them', fb.mode === 'override' || fb.mode === 'append' ? fb.mode : 'no (corrections="ignore")'],
      ]),
      table('Newest disagreements', ['When', 'Row', 'Predicted', 'True label', 'Who'],
        (fb.newest_disagreements || []).map((d) => [when(d.when), d.key === null ? 'by features' : txt(d.key),
          txt(d.predicted), txt(d.true_label) + (d.unknown_class ? ' (a class the champion does not know)' : ''), txt(d.who)]),
        'No disagreements received.'));
  }

  function runsColumns(runs, withModel) {
    const columns = ['Run', ...(withModel ? ['Model'] : []), 'Status', 'Stage', 'Trigger', 'Created', 'Duration', 'Outcome', 'vs champion', 'Version'];
    return [columns, runs.map((r) => [
      link(runHref(r.run_id), r.run_id),
      ...(withModel ? [link(modelHref(r.model), r.model)] : []),
      badge(r.status), txt(r.stage),
      h('span', {}, txt(r.trigger) + (r.dry_run ? ' (dry run)' : ''), r.batch_id
        ? [' · ', h('a', { href: batchHref(r.batch_id), text: 'batch', 'aria-label': `Batch ${r.batch_id}` })] : null),
      at(r.created_at),
      typeof r.duration_s === 'number' ? `${r.duration_s.toFixed(1)} s` : '–',
      r.outcome ? badge(r.outcome) : '–',
      deltaCell(obj(r.summary).delta),
      r.version ? link(versionHref(r.model, r.version), `v${r.version}`) : '–',
    ])];
  }

  const TRIGGERS = [['', 'any'], ['timer', 'monthly timer'], ['http', 'HTTP or console'], ['cli', 'CLI'], ['decay', 'decay check']];
  /** The start of the viewer's local day ``day`` (YYYY-MM-DD) plus ``plus`` days, in UTC. */
  function localDay(day, plus) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d + (plus || 0)).toISOString();
  }

  async function runsView() {
    const body = h('div', {});
    const state = pageState(() => load().catch((err) => failed(err, 'Loading more runs')), RUNS_MOST);
    const choice = (id, label, options) => {
      const select = h('select', { id, name: id }, options.map(([v, text]) => h('option', { value: v, text })));
      return [select, h('div', { class: 'field' }, h('label', { for: id, text: label }), select)];
    };
    const [model, modelField] = choice('runs-model', 'Model', [['', 'any']]);
    const [trigger, triggerField] = choice('runs-trigger', 'Trigger', TRIGGERS);
    const [status, statusField] = choice('runs-status', 'Status', ['', 'queued', 'running', 'succeeded', 'failed'].map((v) => [v, v || 'any']));
    const day = (id, label) => {
      const input = h('input', { type: 'date', id, name: id });
      return [input, h('div', { class: 'field' }, h('label', { for: id, text: label }), input)];
    };
    const [from, fromField] = day('runs-from', 'From (day)');
    const [to, toField] = day('runs-to', 'To (day, included)');
    const filters = h('form', { class: 'card inline-form filters', id: 'runs-filters', 'aria-label': 'Filter runs',
      onsubmit: (event) => event.preventDefault(),
      onchange: () => { stopTimers(); generation++; state.shown = PAGE; poll(load); } },
    modelField, triggerField, statusField, fromField, toField,
    h('p', { class: 'help', text: `Times in your time zone (${timeZoneName()}); hover a time for UTC. ` +
      'Days are yours too: "to" includes its whole day.' }));
    main.replaceChildren(h('h1', { tabindex: -1, text: 'Runs' }), filters, body);
    api('models').then((data) => {
      const chosen = model.value;
      model.replaceChildren(h('option', { value: '', text: 'any' }),
        ...data.models.map((m) => h('option', { value: m.name, text: m.name })));
      model.value = chosen;
    }).catch((err) => failed(err, 'Loading the models'));
    function query() {
      const q = new URLSearchParams({ limit: String(state.shown) });
      if (model.value) q.set('model', model.value);
      if (trigger.value) q.set('trigger', trigger.value);
      if (status.value) q.set('status', status.value);
      if (from.value) q.set('since', localDay(from.value));
      if (to.value) q.set('until', localDay(to.value, 1));
      return q.toString();
    }
    let asked = 0;
    async function load() {
      const mine = ++asked; // a poll and "Show more" may overlap: the last asked wins
      if (from.value && to.value && to.value < from.value) {
        swap(body, h('p', { class: 'error', role: 'alert', text: 'The "to" day is before the "from" day: no run can match.' }));
        return 0;
      }
      const filtered = [model, trigger, status, from, to].some((f) => f.value);
      const data = await api(`training/runs?${query()}`);
      if (mine !== asked) return 2000;
      swap(body, paged(state, 'runs', 'Runs', ...runsColumns(data.runs, true),
        filtered ? 'No run matches these filters.' : 'No runs yet.', { status: 2, class: 'runs-table' }, null));
      focusNewRow(body, state);
      return data.runs.some((r) => ACTIVE.has(r.status)) ? 2000 : 10000;
    }
    await poll(load);
  }

  // ---- a batch: the monthly timer's runs (or any runs started together) as one group -----
  function outcomeWords(runs) {
    const counts = new Map();
    for (const r of runs) {
      const word = r.status === 'succeeded' ? (r.outcome || 'succeeded') : r.status;
      counts.set(word, (counts.get(word) || 0) + 1);
    }
    return [...counts].map(([word, n]) => `${n} ${word.replace(/_/g, ' ')}`).join(', ');
  }
  function slackFacts(batch) {
    const slack = batch && batch.slack;
    if (!batch || !batch.recorded) return 'no batch record (nothing was announced as a batch)';
    if (!slack) return 'not posted to Slack as a thread (Slack off, a webhook, or the post failed)';
    if (slack.permalink) {
      return h('a', { href: slack.permalink, rel: 'noopener noreferrer', target: '_blank', text: 'Slack thread',
        'aria-label': 'The batch\u2019s Slack thread (each model\u2019s message is a reply in it)' });
    }
    return `posted in channel ${slack.channel} (message ${slack.ts}); Slack gave no link`;
  }

  async function batchView(batchId) {
    const title = batchId ? `Batch ${batchId}` : 'This month';
    const head = h('div', {});
    const body = h('div', {});
    const recent = h('div', {});
    const stats = statisticsPanel();
    main.replaceChildren(h('p', { class: 'crumbs' }, link('#/runs', 'Runs'), ' › ', title),
      h('h1', { tabindex: -1, text: title }), head,
      section('Models in the batch', 'batch-runs-title', body),
      section('Recent batches', 'batches-title', recent),
      section('Statistics', 'stats-title', stats));
    async function load() {
      // the newest 100 runs come from one stored object (docs/functions.md); only when no
      // timer run is among them is the timer's newest run asked for by trigger
      const latest = await api('training/runs?limit=100');
      let timer = latest.runs.find((r) => r.trigger === 'timer');
      if (!batchId && !timer) timer = (await api('training/runs?trigger=timer&limit=1')).runs[0];
      const id = batchId || (timer && timer.batch_id);
      swap(recent, recentBatches(latest.runs, id));
      if (!id) {
        const lone = timer;
        swap(head, h('p', { class: 'empty' }, lone
          ? ['The newest timer run (', link(runHref(lone.run_id), lone.run_id), ') was not part of a batch.']
          : 'No monthly batch yet: the timer (TRAINING_SCHEDULE) has not started one.'));
        swap(body, h('p', { class: 'empty', text: 'Nothing to show.' }));
        return 0;
      }
      const data = await api(`training/runs?batch=${encodeURIComponent(id)}&limit=${RUNS_MOST}`);
      const runs = data.runs.slice().sort((a, b) => byText(a.model, b.model));
      const timing = lastBatch(runs, Boolean(runs[0] && runs[0].dry_run));
      const first = runs[0] || {};
      swap(head, dl([
        ['Batch', batchId ? id : link(batchHref(id), id)],
        ['Started by', runs.length ? txt(first.trigger) + (first.dry_run ? ' (dry run)' : '') +
          (first.reason ? `: ${first.reason}` : '') : '–'],
        ['Started', timing ? at(timing.startedAt) : '–'],
        ['Took', !timing ? '–' : (timing.active ? `still running (${timing.size - timing.active} of ${timing.size} finished)`
          : `${duration(timing.seconds)}, from the first start to the last finish`)],
        ['Finished', timing && !timing.active ? at(timing.finishedAt) : '–'],
        ['Outcomes', runs.length ? outcomeWords(runs) : 'no runs found'],
        ['Slack', slackFacts(data.batch)],
      ]));
      swap(body, table(`Models in batch ${id}`,
        ['Model', 'Outcome', 'Score', 'Champion', 'vs champion', 'Findings', 'Duration', 'Version', 'Run'],
        runs.map((r) => {
          const sum = obj(r.summary);
          const findings = Array.isArray(sum.findings) ? sum.findings.length : null;
          return [
            link(modelHref(r.model), r.model),
            badge(r.status === 'succeeded' ? (r.outcome || 'succeeded') : r.status),
            typeof sum.score === 'number' ? `${num(sum.score)} ${txt(sum.metric)}` : '–',
            typeof sum.champion_score === 'number' ? `v${sum.champion_version} · ${num(sum.champion_score)}` : (r.outcome === 'promoted' ? 'none before' : '–'),
            deltaCell(sum.delta),
            findings === null ? '–' : (findings ? h('a', { href: runHref(r.run_id), text: plural(findings, 'finding'),
              'aria-label': `${plural(findings, 'finding')} in run ${r.run_id}` }) : 'none'),
            r.error ? `failed in ${txt(r.error.stage)}` : (typeof r.duration_s === 'number' ? duration(r.duration_s) : '–'),
            r.version ? link(versionHref(r.model, r.version), `v${r.version}`) : '–',
            h('a', { href: runHref(r.run_id), text: r.run_id }),
          ];
        }), 'No runs of this batch were found.', { status: 1 }));
      return runs.some((r) => ACTIVE.has(r.status)) ? 2000 : 0;
    }
    await poll(load);
    if (stats.isConnected) stats.load().catch((err) => failed(err, 'Loading the statistics'));
  }

  /** The batches among ``runs`` (newest first), one row each, ``current`` marked. */
  function recentBatches(runs, current) {
    const groups = new Map();
    for (const r of runs) if (r.batch_id) groups.set(r.batch_id, [...(groups.get(r.batch_id) || []), r]);
    return table('Recent batches', ['Batch', 'Trigger', 'Started', 'Models', 'Outcomes'],
      [...groups].map(([id, members]) => [
        id === current ? h('strong', { text: `${id} (shown)` }) : link(batchHref(id), id),
        txt(members[0].trigger) + (members[0].dry_run ? ' (dry run)' : ''),
        at(members[members.length - 1].created_at),
        String(members.length),
        outcomeWords(members),
      ]), 'No batch among the newest 100 runs.');
  }

  /** GET /api/training/statistics over a window the viewer picks (service/statistics.py). */
  function statisticsPanel() {
    const days = h('select', { id: 'stats-days', name: 'days' },
      [[30, '30 days'], [90, '90 days'], [365, '365 days']].map(([v, text]) => h('option', { value: v, text, selected: v === 90 })));
    const out = h('div', {});
    const panel = h('div', {}, h('div', { class: 'field inline' }, h('label', { for: 'stats-days', text: 'Over the last' }), days), out);
    const row = (name, t) => [name, String(t.runs), pct(t.success_rate),
      t.duration_s.median === null ? '–' : duration(t.duration_s.median),
      t.duration_s.p95 === null ? '–' : duration(t.duration_s.p95),
      `${t.outcomes.promoted} / ${t.outcomes.awaiting_approval || 0} / ${t.outcomes.kept_champion} / ${t.outcomes.rejected} / ${t.outcomes.failed}`,
      t.last_success ? h('span', {}, link(runHref(t.last_success.run_id), t.last_success.model), ' ', at(t.last_success.finished_at)) : 'none',
      `${t.promotions} / ${t.rollbacks}`];
    let asked = 0;
    panel.load = async () => {
      const mine = ++asked;
      const data = await api(`training/statistics?days=${days.value}`);
      if (mine !== asked) return;
      swap(out, table(`Training statistics, last ${data.days} days`,
        ['Model', 'Runs', 'Success rate', 'Median duration', 'p95 duration', 'Promoted / awaiting approval / kept / rejected / failed', 'Last success', 'Promotions / rollbacks'],
        [row(h('strong', { text: 'All models' }), data.overall), ...data.models.map((m) => row(link(modelHref(m.model), m.model), m))],
        'No statistics.'),
      h('p', { class: 'help', text: `Runs started since ${localText(data.since)}; dry runs left out ` +
        `(${data.overall.dry_runs_excluded}). Durations of succeeded runs.` }));
    };
    days.addEventListener('change', () => panel.load().catch((err) => failed(err, 'Loading the statistics')));
    return panel;
  }

  async function runView(runId) {
    const body = h('div', {});
    main.replaceChildren(h('p', { class: 'crumbs' }, link('#/runs', 'Runs'), ' › ', runId),
      h('h1', { tabindex: -1, text: `Run ${runId}` }), body);
    async function load() {
      const r = await api(`training/runs/${encodeURIComponent(runId)}`);
      const sum = obj(r.summary);
      const timings = Object.entries(obj(r.timings)).filter(([, t]) => typeof t === 'number');
      const total = timings.reduce((a, [, t]) => a + t, 0) || 1;
      const profile = obj(sum.profile);
      swap(body,
        r.error ? h('div', { class: 'card error-box', role: 'alert' },
          h('h2', { text: `Failed in ${txt(r.error.stage)}` }),
          h('p', {}, h('strong', { text: `${txt(r.error.type)}: ` }), txt(r.error.message))) : null,
        dl([
          ['Model', link(modelHref(r.model), r.model)],
          ['Status', badge(r.status)], ['Stage', r.stage],
          r.status === 'running' ? ['Progress', progressOf(r.progress)] : null,
          ['Outcome', r.outcome ? badge(r.outcome) : '–'],
          ['Version', r.version ? link(versionHref(r.model, r.version), `v${r.version}`) : '–'],
          ['Trigger', txt(r.trigger) + (r.dry_run ? ' (dry run)' : '')], ['Reason', r.reason],
          ['Created', when(r.created_at)], ['Started', when(r.started_at)],
          ['Finished', when(r.finished_at)],
          ['Duration', typeof r.duration_s === 'number' ? `${r.duration_s.toFixed(2)} s` : '–'],
          ['Attempts', txt(r.attempts)],
          sum.gate_reason ? ['Gate', sum.gate_reason] : null,
          typeof sum.score === 'number' ? ['Score', `${num(sum.score)} ${txt(sum.metric)} (champion ${num(sum.champion_score)})`] : null,
          sum.comparison ? ['Compared with the champion', comparisonText(sum.comparison)] : null,
          sum.rows_loaded !== undefined ? ['Rows loaded', count(sum.rows_loaded)] : null,
        ]),
        section('Timings', 'timings-title', table('Stage timings', ['Stage', 'Seconds', 'Share'],
          timings.map(([stage, t]) => [stage, t.toFixed(3), bar(t / total)]), 'No stage finished yet.')),
        section('Validation and drift findings', 'findings-title', Array.isArray(sum.findings) ?
          findingsTable(sum.findings) : h('p', { text: 'No checks have run yet: the data is validated when the run reaches that stage.' })),
        sum.profile ? section('Data profile (dry run)', 'profile-title',
          dl([
            ['Rows profiled', count(profile.rows)],
            ['Classes', topShares(profile.class_counts, 0, 6)],
          ]),
          h('p', { class: 'help', text: 'Each feature as the rows hold it. Drift is checked against the champion\u2019s profile when the model has a champion: a feature without a finding did not move beyond the thresholds.' }),
          profileTable(sum.profile, sum.findings)) : null);
      return ACTIVE.has(r.status) ? 1500 : 0;
    }
    await poll(load);
  }

  /** A running run's progress from its status: a bar, the share of the run and, in the fit,
      the boosting rounds done of those planned (early stopping may end the fit sooner). */
  function progressOf(progress) {
    const p = obj(progress);
    if (typeof p.fraction !== 'number') return 'not reported yet';
    const share = Math.round(Math.max(0, Math.min(1, p.fraction)) * 100);
    const rounds = typeof p.rounds_done === 'number' && typeof p.rounds_planned === 'number'
      ? `, ${p.rounds_done} of at most ${p.rounds_planned} boosting rounds` : '';
    return h('span', { class: 'progress' },
      h('progress', { max: '100', value: String(share), 'aria-label': `Run progress: ${share} %` }),
      ` ${share} % · ${txt(p.stage)}${rounds}`);
  }

  function bar(fraction) {
    const share = Number.isFinite(fraction) ? Math.max(0, Math.min(1, fraction)) : 0;
    const outer = h('span', { class: 'bar', role: 'img', 'aria-label': `${Math.round(share * 100)} %` });
    const inner = h('span', { class: 'bar-fill' });
    inner.style.width = `${Math.max(1, Math.round(share * 100))}%`;
    outer.append(inner);
    return outer;
  }

  function findingsTable(findings) {
    return table('Findings', ['Severity', 'Rule', 'Column', 'Message'],
      findings.map((f) => [badge(f.severity), txt(f.rule), txt(f.column), f.message || '']),
      'No findings: the data passed every check.', { status: 0 });
  }

  // A matrix of many classes (600 classes: 360,000 cells) shows the classes with the most
  // holdout rows; each row's shares stay those of its whole count.
  const HEATMAP_CLASSES = 30;
  function heatmap(cm) {
    const labels = cm.labels || [];
    const matrix = cm.matrix || [];
    const sums = matrix.map((row) => row.reduce((a, b) => a + b, 0));
    let shown = labels.map((_, i) => i);
    if (shown.length > HEATMAP_CLASSES) {
      shown = shown.sort((a, b) => sums[b] - sums[a] || a - b).slice(0, HEATMAP_CLASSES).sort((a, b) => a - b);
    }
    const wrap = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Confusion matrix' });
    const tbl = h('table', { class: 'heatmap' },
      h('caption', { text: 'Rows: true class. Columns: predicted class. Shade: share of the row.' }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'true \\ predicted' }), shown.map((j) => h('th', { scope: 'col', text: labels[j] })))));
    const tbody = h('tbody', {});
    shown.forEach((i) => {
      const row = matrix[i] || [];
      const sum = sums[i] || 1;
      const tr = h('tr', {}, h('th', { scope: 'row', text: labels[i] }));
      shown.forEach((j) => {
        const count = row[j] || 0;
        const share = count / sum;
        const td = h('td', { class: i === j ? 'diag' : '', title: `${labels[i]} predicted as ${labels[j]}: ${count} (${Math.round(share * 100)} %)`, text: String(count) });
        td.style.backgroundColor = `rgba(${i === j ? '31, 78, 121' : '180, 40, 40'}, ${(0.08 + 0.8 * share).toFixed(3)})`;
        if (share > 0.5) td.classList.add('dark');
        tr.append(td);
      });
      tbody.append(tr);
    });
    tbl.append(tbody);
    wrap.append(tbl);
    if (shown.length === labels.length) return wrap;
    return h('div', {}, h('p', { class: 'help', text: `The ${shown.length} classes with the most holdout rows, of ${count(labels.length)}; shares are of each row's whole count. Per-class scores below list every class.` }), wrap);
  }

  // the candidate's score on the rows the champion was scored on, when it is not its score on
  // its whole test part: two row sets side by side read as a gain the gate did not see
  function onComparedRows(score, c) {
    if (!c || typeof c.candidate !== 'number' || typeof score !== 'number') return '';
    return num(c.candidate) === num(score) ? '' : ` (${num(c.candidate)} on the ${count(c.rows)} rows compared)`;
  }

  // candidate minus champion on the same rows, as the gate saw it (training/gate.py)
  function comparisonText(c) {
    const text = `${signed(c.delta)}, 95 % CI ${signed(c.low)} to ${signed(c.high)}, ${count(c.rows)} rows`;
    return c.caveat ? `${text}; ${c.caveat}` : text;
  }

  // a wide table's card: only some columns were shuffled (training/evaluate.py, importance_plan)
  function shuffledText(columns) {
    if (!columns || typeof columns.shuffled !== 'number') return '';
    const which = columns.chosen_by === 'query order' ? 'the first ones in query order' : `the ones ${txt(columns.chosen_by)} ranks highest`;
    return ` Shuffled ${count(columns.shuffled)} of ${count(columns.of)} columns, ${which}: every column of a table this wide would cost more than the fit.`;
  }
  function holdoutText(rule) {  // the card says it in words (training/holdout.py)
    return rule ? txt(rule.description) : 'a random split (before holdout rules)';
  }
  function correctionsText(c) {  // people's corrections the run used (service/feedback.py)
    if (!c || typeof c !== 'object') return 'none (corrections="ignore")';
    return `${txt(c.mode)}: ${count(c.used)} used of ${count(c.received)} received, ${count(c.refused)} refused, ` +
      `${count(c.unmatched)} without a row` + (c.first ? ` (sent ${txt(c.first).slice(0, 10)} to ${txt(c.last).slice(0, 10)})` : '');
  }

  async function versionView(name, version) {
    const actions = h('p', { class: 'actions' });
    const body = h('div', {}, h('p', { text: 'Loading…' }));
    main.replaceChildren(
      h('p', { class: 'crumbs' }, link('#/', 'Models'), ' › ', link(modelHref(name), name), ' › ', `v${version}`),
      h('h1', { tabindex: -1, text: `${name} v${version}` }), actions, body);
    const [card, models] = await Promise.all([
      api(`models/${encodeURIComponent(name)}/versions/${version}`),
      api('models').catch(() => null)]); // only for the compare links
    const m = obj(card.metrics);
    const gate = obj(card.gate);
    const rows = obj(card.rows);
    const window_ = obj(card.data_window);
    const importances = card.feature_importance;
    const champion = models ? (models.models.find((x) => x.name === name) || {}).champion_version : null;
    const compareWith = [];
    if (champion && champion !== version) compareWith.push(link(compareHref(name, Math.min(champion, version), Math.max(champion, version)), `Compare with the champion v${champion}`));
    if (version > 1 && version - 1 !== champion) compareWith.push(link(compareHref(name, version - 1, version), `Compare with v${version - 1}`));
    actions.replaceChildren(...compareWith.flatMap((a, i) => (i ? [' · ', a] : [a])));
    swap(body,
      dl([
        ['Gate outcome', badge(card.status)],
        ['Gate decision', gate.reason],
        ['Candidate vs champion', typeof gate.champion === 'number' ? `${num(gate.candidate)}${onComparedRows(gate.candidate, gate.comparison)} vs v${gate.champion_version} ${num(gate.champion)} (${signed(gate.delta)}, tolerance ${txt(gate.tolerance)})` : num(gate.candidate)],
        gate.comparison ? ['Compared on the same rows', comparisonText(gate.comparison)] : null,
        gate.comparison ? ['Rows unseen by the champion by', gate.comparison.basis] : null,
        ['Holdout', holdoutText(card.holdout)],
        ['Corrections', correctionsText(card.corrections)],
        ['Created', when(card.created_at)],
        ['Run', card.run_id ? link(runHref(card.run_id), card.run_id) : '–'],
        ['Rows', `${count(rows.loaded)} loaded, ${count(rows.train)} train, ${count(rows.test)} test`],
        ['Estimator', card.estimator && card.estimator.class],
        card.estimator && card.estimator.rounds ? ['Boosting rounds', `${card.estimator.rounds.trained} trained (of at most ${txt(card.estimator.rounds.planned)})` +
          (card.estimator.rounds.used !== card.estimator.rounds.trained ? `, predicting with the first ${card.estimator.rounds.used}` : '')] : null,
        ['Code version', card.code_version],
      ]),
      section('Metrics on the holdout', 'metrics-title', table('Metrics', ['Metric', 'Value'],
        ['accuracy', 'balanced_accuracy', 'macro_f1'].filter((k) => k in m).map((k) => [
          k === card.primary_metric ? h('strong', { text: `${k} (primary)` }) : k, num(m[k])]))),
      section('Confusion matrix', 'cm-title', m.confusion_matrix ? heatmap(m.confusion_matrix) : h('p', { text: '–' })),
      section('Per-class scores', 'classes-title', table('Per-class scores', ['Class', 'Precision', 'Recall', 'F1', 'Support'],
        Object.entries(obj(m.per_class)).map(([label, c]) => [label, num(c.precision, 3), num(c.recall, 3), h('span', {}, bar(c.f1), ` ${num(c.f1, 3)}`), count(c.support)]))),
      section('Feature importance', 'importance-title', importances && importances.features ? h('div', {},
        h('p', { class: 'help', text: `Drop in ${importances.metric} when a column is shuffled on ${importances.rows} holdout rows (${importances.method}, ${importances.repeats} repeats).` + shuffledText(importances.columns) }),
        table('Feature importance', ['Feature', 'Importance', ''],
          importances.features.map((f) => [f.feature, num(f.importance), bar(Math.max(0, f.importance) / Math.max(1e-9, importances.features[0].importance))])))
        : h('p', { class: 'empty', text: 'Not recorded for this version.' })),
      section('Data window', 'window-title', dl([
        ['Window starts', window_.since], ['First row', window_.first], ['Last row', window_.last],
        ['Classes', Object.entries(obj(card.class_distribution)).map(([k, v]) => `${k}: ${v}`).join(', ')],
        ['Rows fingerprint', card.data_fingerprint && card.data_fingerprint.rows_sha256],
      ])),
      section('Validation and drift findings', 'findings-title', findingsTable(card.validation_findings || [])),
      section('Library versions', 'libs-title', table('Library versions', ['Library', 'Version'],
        Object.entries(obj(card.library_versions)).map(([k, v]) => [k, txt(v)]))),
      section('Artifact', 'artifact-title', dl([
        ['Location', card.artifact && card.artifact.uri],
        ['sha256', card.artifact && card.artifact.sha256],
        ['Size', card.artifact ? `${count(card.artifact.size_bytes)} bytes` : '–'],
      ]), h('details', {}, h('summary', { text: 'Estimator parameters' }),
        h('pre', { class: 'json', text: JSON.stringify(obj(obj(card.estimator).params), null, 2) }))));
  }

  function value(x) { // a parameter's value: JSON null is Python's None or NaN
    if (x === null || x === undefined) return '–';
    return typeof x === 'object' ? JSON.stringify(x) : String(x);
  }
  function change(delta, digits = 4) {
    if (typeof delta !== 'number') return '–';
    const text = (delta >= 0 ? '+' : '') + delta.toFixed(digits);
    return h('span', { class: delta > 0 ? 'up' : (delta < 0 ? 'down' : null), text });
  }

  async function compareView(name, va, vb) {
    const body = h('div', {}, h('p', { text: 'Loading…' }));
    const A = `v${va}`, B = `v${vb}`;
    main.replaceChildren(
      h('p', { class: 'crumbs' }, link('#/', 'Models'), ' › ', link(modelHref(name), name), ' › ', `compare ${A} and ${B}`),
      h('h1', { tabindex: -1, text: `${name} ${A} → ${B}` }), body);
    const enc = encodeURIComponent(name);
    const [a, b, models] = await Promise.all([
      api(`models/${enc}/versions/${va}`), api(`models/${enc}/versions/${vb}`), api('models').catch(() => null)]);
    const d = compareCards(a, b);
    const champion = models ? (models.models.find((x) => x.name === name) || {}).champion_version : null;
    const tag = (v) => `v${v}` + (v === champion ? ' (champion)' : '');
    const wa = obj(d.data_window.a), wb = obj(d.data_window.b);
    const ra = obj(d.rows.a), rb = obj(d.rows.b);
    const perClass = perClassRows(a, b);
    const fa = new Map(profileFeatures(a.data_profile).map((f) => [f.name, f]));
    const fb = new Map(profileFeatures(b.data_profile).map((f) => [f.name, f]));
    const features = keysOf(Object.fromEntries(fa), Object.fromEntries(fb));
    const classes = pageState(() => renderClasses());
    const classBox = h('div', {});
    function renderClasses() {
      swap(classBox, paged(classes, 'classes', 'Class distribution', ['Class', `${A} rows`, `${A} share`, `${B} rows`, `${B} share`, 'Change (points)'],
        d.class_distribution.map((c) => [c.class, count(c.a), pct(c.a_share), count(c.b), pct(c.b_share), change(c.share_delta * 100, 1)]),
        'No classes recorded.', {}, d.class_distribution.length));
      focusNewRow(classBox, classes);
    }
    swap(body,
      h('p', { class: 'actions' }, link(versionHref(name, va), `${tag(va)} card`), ' · ', link(versionHref(name, vb), `${tag(vb)} card`),
        ' · ', link(compareHref(name, vb, va), `Swap: ${B} → ${A}`)),
      section('Metrics on each version\u2019s own holdout', 'cmp-metrics-title',
        table('Metrics', ['Metric', A, B, 'Change'], d.metrics.map((x) => [
          x.metric === d.primary_metric ? h('strong', { text: `${x.metric} (primary)` }) : x.metric,
          num(x.a), num(x.b), change(x.delta)]), 'No metrics recorded.'),
        d.same_rows ? null : h('p', { class: 'help', text: 'Each score is on its own version\u2019s holdout; the gate decisions below compare candidate and champion on the same rows.' })),
      section('Gate', 'cmp-gate-title', table('Gate decisions', ['Version', 'Outcome', 'Score', 'Champion then', 'Decision'],
        [[va, d.gate.a], [vb, d.gate.b]].map(([v, g]) => [tag(v), g.outcome ? badge(g.outcome) : '–', num(g.candidate),
          g.champion_version ? `v${g.champion_version} ${num(g.champion)}` : 'none', txt(g.reason)]), '', { status: 1 })),
      section('Per-class scores', 'cmp-classes-title',
        h('p', { class: 'help', text: 'Largest change in F1 first.' }),
        table('Per-class scores', ['Class', `F1 ${A}`, `F1 ${B}`, 'F1 change', `Precision ${A}`, `Precision ${B}`, `Recall ${A}`, `Recall ${B}`, `Support ${A}`, `Support ${B}`],
          perClass.map((c) => [c.label, num(c.x.f1, 3), num(c.y.f1, 3), change(c.change, 3), num(c.x.precision, 3), num(c.y.precision, 3),
            num(c.x.recall, 3), num(c.y.recall, 3), count(c.x.support), count(c.y.support)]), 'No per-class scores recorded.')),
      section('Parameters that differ', 'cmp-params-title', table('Parameters that differ', ['Parameter', A, B],
        d.params.map((p) => [p.param, value(p.a), value(p.b)]), 'No change: both versions were fitted with the same parameters.')),
      section('Data', 'cmp-data-title',
        table('Data window and rows', ['Fact', A, B], [
          ['Window starts', txt(wa.since), txt(wb.since)],
          ['First row', txt(wa.first), txt(wb.first)],
          ['Last row', txt(wa.last), txt(wb.last)],
          ['Rows loaded', count(ra.loaded), count(rb.loaded)],
          ['Train rows', count(ra.train), count(rb.train)],
          ['Test rows', count(ra.test), count(rb.test)],
          ['Holdout', holdoutText(a.holdout), holdoutText(b.holdout)],
          ['Corrections', correctionsText(d.corrections.a), correctionsText(d.corrections.b)],
        ]),
        dl([['Same rows', d.same_rows ? 'yes' : 'no'], ['Same query', d.same_query ? 'yes' : 'no']])),
      section('Features', 'cmp-schema-title', table('Feature changes', ['Change', 'Kind', 'Column'],
        d.feature_schema.map((c) => [c.change, c.kind, c.column]), 'No change: the same features of the same kinds.')),
      section('Data profile', 'cmp-profile-title', table('Data profile per feature', ['Feature', 'Kind', `Missing ${A}`, `Missing ${B}`, A, B],
        features.map((f) => {
          const x = fa.get(f), y = fb.get(f);
          return [f, txt((y || x).kind), x ? pct(x.missing) : 'absent', y ? pct(y.missing) : 'absent',
            x && x.col ? distribution(x.col) : 'not recorded', y && y.col ? distribution(y.col) : 'not recorded'];
        }), 'Neither card holds a data profile.')),
      section('Class distribution, largest changes first', 'cmp-dist-title', classBox),
      section('Validation and drift findings', 'cmp-findings-title', table('Findings of both versions', ['Version', 'Severity', 'Rule', 'Column', 'Message'],
        [[va, a], [vb, b]].flatMap(([v, card]) => (Array.isArray(card.validation_findings) ? card.validation_findings : [])
          .map((f) => [tag(v), badge(f.severity), txt(f.rule), txt(f.column), f.message || ''])), 'No findings in either version.', { status: 1 })),
      section('Libraries that differ', 'cmp-libs-title', table('Libraries that differ', ['Library', A, B],
        d.library_versions.map((x) => [x.library, txt(x.a), txt(x.b)]), 'No change: the same library versions.')));
    renderClasses();
  }

  // ---- navigation: a new view starts at its top, back and forward return where you were --
  if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
  const scrolls = new Map(); // history entry -> where the page was scrolled when it was left
  let entry = null;
  let entries = 0;
  /** This history entry's id; false: the console has not shown it before (a new view). */
  function thisEntry() {
    const state = history.state;
    if (state && typeof state.consoleEntry === 'string') return [state.consoleEntry, true];
    const id = `${Date.now().toString(36)}-${++entries}`;
    history.replaceState({ consoleEntry: id }, '');
    return [id, false];
  }
  function focusHeading() {
    const heading = main.querySelector('h1');
    if (heading) heading.focus({ preventScroll: true });
  }

  /** Show the view the address names. ``restoreY``: scroll there once it is loaded (back or
      forward); undefined: a new view, shown from its top with the focus on its heading. */
  async function route(restoreY) {
    stopTimers();
    generation++;
    const mine = generation;
    if (!key()) { askForKey(''); return; }
    forgetButton.hidden = false;
    const path = (location.hash || '#/').slice(1).split('/').filter(Boolean).map(decodeURIComponent);
    const digits = (x) => /^\d{1,9}$/.test(x || '');
    let view;
    if (path[0] === 'models' && path[1] && path[2] === 'versions' && digits(path[3])) view = () => versionView(path[1], Number(path[3]));
    else if (path[0] === 'models' && path[1] && path[2] === 'compare' && digits(path[3]) && digits(path[4])) view = () => compareView(path[1], Number(path[3]), Number(path[4]));
    else if (path[0] === 'models' && path[1]) view = () => modelView(path[1]);
    else if (path[0] === 'runs' && path[1]) view = () => runView(path[1]);
    else if (path[0] === 'runs') view = () => runsView();
    else if (path[0] === 'batches') view = () => batchView(path[1] || null);
    else view = () => modelsView();
    const moveFocus = restoreY === undefined;
    try {
      const loading = view(); // each view puts its heading up at once, then loads
      if (moveFocus) { window.scrollTo(0, 0); focusHeading(); }
      await loading;
    } catch (err) {
      if (mine !== generation) return;
      if (err instanceof KeyRefused) { askForKey('The function key was refused. Enter a valid key.'); return; }
      main.replaceChildren(h('h1', { tabindex: -1, text: 'Could not load this page' }),
        h('p', { class: 'error', role: 'alert' }, explain(err, 'Loading')), link('#/', 'Back to the models'));
    }
    if (mine !== generation) return;
    if (restoreY !== undefined) window.scrollTo(0, restoreY);
    if (document.activeElement === document.body || !document.activeElement) focusHeading();
  }

  window.addEventListener('hashchange', () => {
    if (location.hash === '#main') return; // the skip link, not a view
    if (entry !== null) scrolls.set(entry, window.scrollY);
    const [id, seen] = thisEntry();
    entry = id;
    notice('');
    route(seen ? (scrolls.get(id) || 0) : undefined);
  });
  document.querySelector('.skip').addEventListener('click', (event) => {
    event.preventDefault(); // no history entry, no new view: only the focus moves
    main.focus();
  });
  entry = thisEntry()[0];
  route(window.scrollY);
  window.retrainConsole = Object.freeze({ compareCards }); // tests/console/test_compare.py
}());
