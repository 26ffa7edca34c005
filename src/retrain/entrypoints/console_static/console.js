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

  function section(title, id, ...children) {
    return h('section', { 'aria-labelledby': id }, h('h2', { id, text: title }), ...children);
  }

  function table(caption, columns, rows, empty) {
    if (!rows.length) return h('p', { class: 'empty', text: empty || 'Nothing yet.' });
    return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
      h('table', {},
        h('caption', { class: 'visually-hidden', text: caption }),
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) =>
          i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))));
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
  function num(x, digits = 4) {
    return typeof x === 'number' ? x.toFixed(digits) : '–';
  }
  function signed(x) {
    return typeof x === 'number' ? (x >= 0 ? '+' : '') + x.toFixed(4) : '–';
  }
  function modelHref(name) { return `#/models/${encodeURIComponent(name)}`; }
  function versionHref(name, v) { return `${modelHref(name)}/versions/${v}`; }
  function runHref(id) { return `#/runs/${encodeURIComponent(id)}`; }

  function ago(iso) {
    if (!iso) return '–';
    const seconds = Math.max(0, (Date.now() + serverOffsetMs - Date.parse(iso)) / 1000);
    if (seconds < 60) return `${Math.round(seconds)} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} days ago`;
  }
  function when(iso) {
    if (!iso) return '–';
    return h('time', { datetime: iso, title: iso, text: ago(iso) });
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

  // ---- starting runs and promoting -----------------------------------------------------
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
        const body = { models, reason: reason.value.trim(), dry_run: dry.checked };
        const started = await api('training', { method: 'POST', body });
        const parts = [];
        started.runs.forEach((r, i) => {
          parts.push(i ? ', ' : (r.dry_run ? 'Dry run queued: ' : 'Queued: '));
          parts.push(link(runHref(r.run_id), r.model));
        });
        started.skipped.forEach((skip) => {
          parts.push(`; ${skip.model} skipped (already has run `, link(runHref(skip.active_run_id), skip.active_run_id), ')');
        });
        notice(parts, 'ok');
        reason.value = '';
        if (onStarted) await onStarted();
      } catch (err) {
        failed(err, 'Starting the run');
      } finally {
        button.disabled = false;
      }
    } },
    h('div', { class: 'field' }, h('label', { for: `reason-${id}`, text: 'Reason (optional)' }), reason),
    h('div', { class: 'field check' }, dry, h('label', { for: `dry-${id}`, text: 'Dry run: validate the data, publish nothing' })),
    button);
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

  function promoteForm(model, versions, champion, onMoved) {
    const select = h('select', { id: 'promote-version', name: 'version', required: true },
      h('option', { value: '', text: 'Choose a version' }),
      versions.filter((v) => !v.error).slice().reverse().map((v) => h('option', {
        value: v.version, text: `v${v.version} · ${String(v.status).replace(/_/g, ' ')} · ${num(v.score)}` +
          (v.champion ? ' (champion)' : ''),
      })));
    const reason = h('textarea', { id: 'promote-reason', name: 'reason', required: true, rows: 2,
      maxlength: 500, 'aria-describedby': 'promote-help' });
    const button = h('button', { type: 'submit', class: 'primary', text: 'Review the change…' });
    const form = h('form', { class: 'card', id: 'promote-form', novalidate: true, onsubmit: async (event) => {
      event.preventDefault();
      const version = Number(select.value);
      const why = reason.value.trim();
      if (!version) { notice('Choose the version that should serve.', 'error'); select.focus(); return; }
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
        await onMoved();
      } catch (err) {
        failed(err, `Moving the ${model} champion`);
      } finally {
        button.disabled = false;
      }
    } },
    h('div', { class: 'field' }, h('label', { for: 'promote-version', text: 'Version to serve' }), select),
    h('div', { class: 'field grow' }, h('label', { for: 'promote-reason', text: 'Reason (required)' }), reason),
    h('p', { id: 'promote-help', class: 'help', text: 'Promote a kept version or roll back to an older one. You confirm before anything changes.' }),
    button);
    form.choose = (version) => { select.value = String(version); reason.focus(); };
    return form;
  }

  // ---- the metric chart --------------------------------------------------------------
  const MARK = { promoted: 'circle', kept_champion: 'diamond', rejected: 'cross' };
  function metricChart(model, metric, floor, versions) {
    const points = versions.filter((v) => typeof v.score === 'number');
    if (!points.length) return h('p', { class: 'empty', text: 'No scored versions yet.' });
    // drawn at the width it is shown at, so its text keeps its size on a phone
    const W = Math.round(Math.max(300, Math.min(1000, main.clientWidth - 40)));
    const H = W < 520 ? 220 : 280, L = 52, R = 16, T = 22, B = 40;
    const values = points.map((p) => p.score).concat(points.map((p) => (p.gate && p.gate.champion) || p.score));
    if (typeof floor === 'number') values.push(floor);
    let lo = Math.min(...values), hi = Math.max(...values);
    const pad = Math.max((hi - lo) * 0.1, 0.01);
    lo = Math.max(0, lo - pad); hi = Math.min(1, hi + pad);
    if (hi <= lo) hi = lo + 0.01;
    const first = points[0].version, last = points[points.length - 1].version;
    const x = (v) => L + (last === first ? (W - L - R) / 2 : ((v - first) / (last - first)) * (W - L - R));
    const y = (m) => T + (1 - (m - lo) / (hi - lo)) * (H - T - B);
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'group',
      'aria-label': `${metric} of ${model} across ${points.length} versions; each mark links to its model card` });
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
    const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' },
      h('li', {}, h('span', { class: 'key key-promoted' }), 'promoted by the gate'),
      h('li', {}, h('span', { class: 'key key-kept_champion' }), 'kept champion (worse than it)'),
      h('li', {}, h('span', { class: 'key key-rejected' }), 'rejected (below the floor)'),
      h('li', {}, h('span', { class: 'key key-ring' }), 'served as champion (bold: now)'),
      h('li', {}, h('span', { class: 'key key-gate' }), 'champion\u2019s score on the same holdout'));
    return h('figure', { class: 'chart-box' }, svg, h('figcaption', {}, legend));
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
          m.champion_version ? `v${m.champion_version}` : 'none',
          m.champion_score === null || m.champion_score === undefined ? '–' : `${num(m.champion_score)} ${m.primary_metric}`,
          String(m.versions),
          last ? h('a', { href: runHref(last.run_id), class: 'last-run' }, last.error && !last.status ? 'unreadable ' : null,
            last.status ? badge(last.status === 'succeeded' ? (last.outcome || 'succeeded') : last.status) : null,
            last.dry_run ? ' dry run ' : ' ', when(last.finished_at || last.created_at)) : 'never',
          m.active_run ? link(runHref(m.active_run), 'running or queued') : '–',
          m.error ? h('span', { class: 'error', text: m.error.message }) : (m.description || ''),
        ];
      });
      body.replaceChildren(table('Registered models',
        ['Model', 'Champion', 'Score', 'Versions', 'Last run', 'Active run', 'Description'], rows,
        'No classifiers are registered.'));
      return data.models.some((m) => m.active_run) ? 2000 : 10000;
    }
    await poll(load);
  }

  async function modelView(name) {
    const enc = encodeURIComponent(name);
    const parts = {
      head: h('div', {}), chart: h('div', {}), versions: h('div', {}),
      promote: h('div', {}), runs: h('div', {}), history: h('div', {}),
    };
    main.replaceChildren(
      h('p', { class: 'crumbs' }, link('#/', 'Models'), ' › ', name),
      h('h1', { tabindex: -1, text: name }), parts.head,
      retrainForm([name], `Retrain ${name}`, () => loadRuns()),
      section('Primary metric across versions', 'chart-title', parts.chart),
      section('Versions', 'versions-title', parts.versions),
      section('Promote or roll back', 'promote-title', parts.promote),
      section('Runs', 'runs-title', parts.runs),
      section('Alias history', 'history-title', parts.history));
    let lastFinished = null;

    async function loadModel() {
      const [models, versions, history] = await Promise.all([
        api('models'), api(`models/${enc}/versions`), api(`models/${enc}/history`)]);
      const model = models.models.find((m) => m.name === name) || {};
      parts.head.replaceChildren(dl([
        ['Predicts', model.description],
        ['Primary metric', `${model.primary_metric} (floor ${model.metric_floor})`],
        ['Champion', model.champion_version ? link(versionHref(name, model.champion_version), `v${model.champion_version} · ${num(model.champion_score)}`) : 'none yet'],
        model.error ? ['Problem', h('span', { class: 'error', text: model.error.message })] : null,
      ]));
      const list = versions.versions;
      parts.chart.replaceChildren(metricChart(name, model.primary_metric, model.metric_floor, list));
      const form = promoteForm(name, list, model.champion_version, loadModel);
      parts.promote.replaceChildren(form);
      parts.versions.replaceChildren(table(`Versions of ${name}`,
        ['Version', 'Created', 'Gate outcome', 'Score', 'vs champion', 'Gate decision', 'Serves', ''],
        list.slice().reverse().map((v) => v.error ? [`v${v.version}`, '–', badge('unreadable'), '–', '–', v.error.message, '–', ''] : [
          link(versionHref(name, v.version), `v${v.version}`),
          when(v.created_at),
          badge(v.status),
          num(v.score),
          v.gate ? signed(v.gate.delta) : '–',
          v.gate ? v.gate.reason : '–',
          v.champion ? h('strong', { text: 'champion' }) : (v.served ? 'served before' : '–'),
          v.champion ? '' : h('button', { type: 'button', class: 'quiet', text: 'Make champion…',
            'aria-label': `Make v${v.version} champion`,
            onclick: () => { form.choose(v.version); form.scrollIntoView({ block: 'center' }); } }),
        ]), 'No versions yet: start a run.'));
      parts.history.replaceChildren(table(`Alias history of ${name}`,
        ['When', 'Change', 'By', 'Reason', 'Run'],
        history.history.slice().reverse().map((e) => e.error ? [e.key || '?', 'unreadable', '', '', ''] : [
          when(e.moved_at),
          `${e.previous_version ? `v${e.previous_version}` : 'none'} → v${e.version}`,
          e.actor || '–', e.reason || '–',
          e.run_id ? link(runHref(e.run_id), e.run_id) : '–',
        ]), 'The champion has never moved.'));
    }

    async function loadRuns() {
      const data = await api(`training/runs?model=${enc}&limit=20`);
      const runs = data.runs;
      const finished = runs.filter((r) => !ACTIVE.has(r.status)).map((r) => r.run_id).join();
      if (lastFinished !== null && finished !== lastFinished) await loadModel(); // new version?
      lastFinished = finished;
      parts.runs.replaceChildren(runsTable(runs, false));
      return runs.some((r) => ACTIVE.has(r.status)) ? 1500 : 10000;
    }

    await loadModel();
    await poll(loadRuns);
  }

  function runsTable(runs, withModel) {
    const columns = ['Run', ...(withModel ? ['Model'] : []), 'Status', 'Stage', 'Trigger', 'Created', 'Duration', 'Outcome', 'Version'];
    return table('Runs', columns, runs.map((r) => [
      link(runHref(r.run_id), r.run_id),
      ...(withModel ? [link(modelHref(r.model), r.model)] : []),
      badge(r.status), r.stage, r.trigger + (r.dry_run ? ' (dry run)' : ''),
      when(r.created_at),
      r.duration_s === null || r.duration_s === undefined ? '–' : `${r.duration_s.toFixed(1)} s`,
      r.outcome ? badge(r.outcome) : '–',
      r.version ? link(versionHref(r.model, r.version), `v${r.version}`) : '–',
    ]), 'No runs yet.');
  }

  async function runsView() {
    const body = h('div', {});
    const filter = h('select', { id: 'runs-status', onchange: () => { stopTimers(); generation++; poll(load); } },
      ['', 'queued', 'running', 'succeeded', 'failed'].map((v) => h('option', { value: v, text: v || 'any' })));
    main.replaceChildren(h('h1', { tabindex: -1, text: 'Runs' }),
      h('div', { class: 'field inline' }, h('label', { for: 'runs-status', text: 'Status' }), filter),
      body);
    async function load() {
      const status = filter.value ? `&status=${filter.value}` : '';
      const data = await api(`training/runs?limit=50${status}`);
      body.replaceChildren(runsTable(data.runs, true));
      return data.runs.some((r) => ACTIVE.has(r.status)) ? 2000 : 10000;
    }
    await poll(load);
  }

  async function runView(runId) {
    const body = h('div', {});
    main.replaceChildren(h('p', { class: 'crumbs' }, link('#/runs', 'Runs'), ' › ', runId),
      h('h1', { tabindex: -1, text: `Run ${runId}` }), body);
    async function load() {
      const r = await api(`training/runs/${encodeURIComponent(runId)}`);
      const sum = r.summary || {};
      const timings = Object.entries(r.timings || {});
      const total = timings.reduce((a, [, t]) => a + t, 0) || 1;
      body.replaceChildren(...[ // replaceChildren writes a null as the text "null"
        r.error ? h('div', { class: 'card error-box', role: 'alert' },
          h('h2', { text: `Failed in ${r.error.stage}` }),
          h('p', {}, h('strong', { text: `${r.error.type}: ` }), r.error.message)) : null,
        dl([
          ['Model', link(modelHref(r.model), r.model)],
          ['Status', badge(r.status)], ['Stage', r.stage],
          ['Outcome', r.outcome ? badge(r.outcome) : '–'],
          ['Version', r.version ? link(versionHref(r.model, r.version), `v${r.version}`) : '–'],
          ['Trigger', r.trigger + (r.dry_run ? ' (dry run)' : '')], ['Reason', r.reason],
          ['Created', when(r.created_at)], ['Started', when(r.started_at)],
          ['Finished', when(r.finished_at)],
          ['Duration', typeof r.duration_s === 'number' ? `${r.duration_s.toFixed(2)} s` : '–'],
          ['Attempts', String(r.attempts)],
          sum.gate_reason ? ['Gate', sum.gate_reason] : null,
          typeof sum.score === 'number' ? ['Score', `${num(sum.score)} ${sum.metric} (champion ${num(sum.champion_score)})`] : null,
          sum.comparison ? ['Compared with the champion', comparisonText(sum.comparison)] : null,
          sum.rows_loaded !== undefined ? ['Rows loaded', String(sum.rows_loaded)] : null,
        ]),
        section('Timings', 'timings-title', table('Stage timings', ['Stage', 'Seconds', 'Share'],
          timings.map(([stage, t]) => [stage, t.toFixed(3), bar(t / total)]), 'No stage finished yet.')),
        section('Validation and drift findings', 'findings-title', Array.isArray(sum.findings) ?
          findingsTable(sum.findings) : h('p', { text: 'No checks have run yet: the data is validated when the run reaches that stage.' })),
        sum.profile ? section('Data profile (dry run)', 'profile-title',
          h('pre', { class: 'json', text: JSON.stringify(sum.profile, null, 2) })) : null].filter((x) => x));
      return ACTIVE.has(r.status) ? 1500 : 0;
    }
    await poll(load);
  }

  function bar(fraction) {
    const outer = h('span', { class: 'bar', role: 'img', 'aria-label': `${Math.round(fraction * 100)} %` });
    const inner = h('span', { class: 'bar-fill' });
    inner.style.width = `${Math.max(1, Math.round(fraction * 100))}%`;
    outer.append(inner);
    return outer;
  }

  function findingsTable(findings) {
    return table('Findings', ['Severity', 'Rule', 'Column', 'Message'],
      findings.map((f) => [badge(f.severity), f.rule || '–', f.column || '–', f.message || '']),
      'No findings: the data passed every check.');
  }

  function heatmap(cm) {
    const labels = cm.labels || [];
    const matrix = cm.matrix || [];
    const wrap = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Confusion matrix' });
    const tbl = h('table', { class: 'heatmap' },
      h('caption', { text: 'Rows: true class. Columns: predicted class. Shade: share of the row.' }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'true \\ predicted' }), labels.map((l) => h('th', { scope: 'col', text: l })))));
    const tbody = h('tbody', {});
    matrix.forEach((row, i) => {
      const sum = row.reduce((a, b) => a + b, 0) || 1;
      const tr = h('tr', {}, h('th', { scope: 'row', text: labels[i] }));
      row.forEach((count, j) => {
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
    return wrap;
  }

  // candidate minus champion on the same rows, as the gate saw it (training/gate.py)
  function comparisonText(c) {
    const text = `${signed(c.delta)}, 95 % CI ${signed(c.low)} to ${signed(c.high)}, ${Number(c.rows).toLocaleString('en')} rows`;
    return c.caveat ? `${text}; ${c.caveat}` : text;
  }

  function holdoutText(rule) {  // the card says it in words (training/holdout.py)
    return rule ? rule.description : 'a random split (before holdout rules)';
  }

  async function versionView(name, version) {
    const card = await api(`models/${encodeURIComponent(name)}/versions/${version}`);
    const m = card.metrics || {};
    const gate = card.gate || {};
    const rows = card.rows || {};
    const window_ = card.data_window || {};
    const importances = card.feature_importance;
    main.replaceChildren(
      h('p', { class: 'crumbs' }, link('#/', 'Models'), ' › ', link(modelHref(name), name), ' › ', `v${version}`),
      h('h1', { tabindex: -1, text: `${name} v${version}` }),
      dl([
        ['Gate outcome', badge(card.status)],
        ['Gate decision', gate.reason],
        ['Candidate vs champion', typeof gate.champion === 'number' ? `${num(gate.candidate)} vs v${gate.champion_version} ${num(gate.champion)} (${signed(gate.delta)}, tolerance ${gate.tolerance})` : num(gate.candidate)],
        gate.comparison ? ['Compared on the same rows', comparisonText(gate.comparison)] : null,
        gate.comparison ? ['Rows unseen by the champion by', gate.comparison.basis] : null,
        ['Holdout', holdoutText(card.holdout)],
        ['Created', when(card.created_at)],
        ['Run', card.run_id ? link(runHref(card.run_id), card.run_id) : '–'],
        ['Rows', `${rows.loaded} loaded, ${rows.train} train, ${rows.test} test`],
        ['Estimator', card.estimator && card.estimator.class],
        card.estimator && card.estimator.rounds ? ['Boosting rounds', `${card.estimator.rounds.trained} trained (of at most ${card.estimator.rounds.planned})` +
          (card.estimator.rounds.used !== card.estimator.rounds.trained ? `, predicting with the first ${card.estimator.rounds.used}` : '')] : null,
        ['Code version', card.code_version],
      ]),
      section('Metrics on the holdout', 'metrics-title', table('Metrics', ['Metric', 'Value'],
        ['accuracy', 'balanced_accuracy', 'macro_f1'].filter((k) => k in m).map((k) => [
          k === card.primary_metric ? h('strong', { text: `${k} (primary)` }) : k, num(m[k])]))),
      section('Confusion matrix', 'cm-title', m.confusion_matrix ? heatmap(m.confusion_matrix) : h('p', { text: '–' })),
      section('Per-class scores', 'classes-title', table('Per-class scores', ['Class', 'Precision', 'Recall', 'F1', 'Support'],
        Object.entries(m.per_class || {}).map(([label, c]) => [label, num(c.precision, 3), num(c.recall, 3), h('span', {}, bar(c.f1), ` ${num(c.f1, 3)}`), String(c.support)]))),
      section('Feature importance', 'importance-title', importances && importances.features ? h('div', {},
        h('p', { class: 'help', text: `Drop in ${importances.metric} when a column is shuffled on ${importances.rows} holdout rows (${importances.method}, ${importances.repeats} repeats).` }),
        table('Feature importance', ['Feature', 'Importance', ''],
          importances.features.map((f) => [f.feature, num(f.importance), bar(Math.max(0, f.importance) / Math.max(1e-9, importances.features[0].importance))])))
        : h('p', { class: 'empty', text: 'Not recorded for this version.' })),
      section('Data window', 'window-title', dl([
        ['Window starts', window_.since], ['First row', window_.first], ['Last row', window_.last],
        ['Classes', Object.entries(card.class_distribution || {}).map(([k, v]) => `${k}: ${v}`).join(', ')],
        ['Rows fingerprint', card.data_fingerprint && card.data_fingerprint.rows_sha256],
      ])),
      section('Validation and drift findings', 'findings-title', findingsTable(card.validation_findings || [])),
      section('Library versions', 'libs-title', table('Library versions', ['Library', 'Version'],
        Object.entries(card.library_versions || {}).map(([k, v]) => [k, v]))),
      section('Artifact', 'artifact-title', dl([
        ['Location', card.artifact && card.artifact.uri],
        ['sha256', card.artifact && card.artifact.sha256],
        ['Size', card.artifact ? `${card.artifact.size_bytes} bytes` : '–'],
      ]), h('details', {}, h('summary', { text: 'Estimator parameters' }),
        h('pre', { class: 'json', text: JSON.stringify((card.estimator || {}).params || {}, null, 2) }))));
  }

  // ---- routing -------------------------------------------------------------------------
  async function route() {
    stopTimers();
    generation++;
    if (!key()) { askForKey(''); return; }
    forgetButton.hidden = false;
    const path = (location.hash || '#/').slice(1).split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (path[0] === 'models' && path[1] && path[2] === 'versions' && /^\d+$/.test(path[3] || '')) await versionView(path[1], Number(path[3]));
      else if (path[0] === 'models' && path[1]) await modelView(path[1]);
      else if (path[0] === 'runs' && path[1]) await runView(path[1]);
      else if (path[0] === 'runs') await runsView();
      else await modelsView();
      const heading = main.querySelector('h1');
      if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
    } catch (err) {
      if (err instanceof KeyRefused) { askForKey('The function key was refused. Enter a valid key.'); return; }
      main.replaceChildren(h('h1', { tabindex: -1, text: 'Could not load this page' }),
        h('p', { class: 'error', role: 'alert' }, explain(err, 'Loading')), link('#/', 'Back to the models'));
    }
  }

  window.addEventListener('hashchange', () => { notice(''); route().then(() => {
    const heading = main.querySelector('h1');
    if (heading) heading.focus({ preventScroll: false });
  }); });
  route();
}());
