/// `views.js`: the models, activity, request (timeline and capture) and logs views.
enum UIScriptViews {
    static let js = #"""
        'use strict';
        // Views: models (state, load, unload), activity (recent requests, filters), request (live timeline,
        // capture, export as a scenario file) and logs (a live /logs/stream).
        (() => {
          const { h, say, ms, num, bytes, clock, none, Poller } = UI;

          // ---- Models ----------------------------------------------------------------------------------------
          const stateName = { ready: 'loaded', starting: 'loading', stopping: 'stopping' };
          let pending = 0; // polls left at the fast rate after a button press
          const modelsPoller = new Poller(refreshModels, () => (pending-- > 0 ? 500 : 2000));

          async function fetchModels() {
            const [list, running] = await Promise.all([UI.json('models'), UI.json('running')]);
            const live = new Map((running.running || []).map((r) => [r.model, r]));
            // Selectors and profile pins are names for other models, not processes to load or unload.
            const kind = (m) => ((m.meta || {}).llamaswap || {}).type;
            const models = (list.data || []).filter((m) => kind(m) !== 'selector' && kind(m) !== 'profile').map((m) => {
              const run = live.get(m.id);
              const state = run ? (stateName[run.state] || run.state) : 'stopped';
              return { id: m.id, name: m.name || '', description: m.description || '', state,
                inFlight: run ? run.inFlight : 0 };
            });
            UI.setModels(models);
            return models;
          }

          async function refreshModels() {
            let models;
            try { models = await fetchModels(); } catch (error) { say('models-msg', error.message, 'bad'); return; }
            if (models.some((m) => m.state === 'loading' || m.state === 'stopping')) pending = Math.max(pending, 2);
            const body = document.querySelector('#models-table tbody');
            const focused = document.activeElement && document.activeElement.dataset.action
              ? document.activeElement.dataset.action + ' ' + document.activeElement.dataset.model : null;
            body.replaceChildren(...models.map((m) => h('tr', { 'data-model': m.id },
              h('td', {}, h('b', {}, m.id)),
              h('td', { class: 'wrap' }, m.name, m.description ? h('div', { class: 'hint' }, m.description) : null),
              h('td', {}, h('span', { class: 'state ' + m.state, 'data-state': m.state }, m.state)),
              h('td', { class: 'num' }, String(m.inFlight)),
              h('td', {},
                h('button', { type: 'button', 'data-action': 'load', 'data-model': m.id,
                  disabled: m.state !== 'stopped', onclick: () => act('load', m.id) }, 'Load'), ' ',
                h('button', { type: 'button', 'data-action': 'unload', 'data-model': m.id,
                  disabled: m.state === 'stopped', onclick: () => act('unload', m.id) }, 'Unload'), ' ',
                h('a', { href: '#/logs/' + encodeURIComponent(m.id) }, 'logs')))));
            if (!models.length) body.append(h('tr', {}, h('td', { colspan: 5 }, 'No models are configured.')));
            if (focused) {
              const [action, model] = focused.split(' ');
              const again = [...body.querySelectorAll('button')]
                .find((b) => b.dataset.action === action && b.dataset.model === model);
              if (again) (again.disabled ? again.closest('td').querySelector('button:not(:disabled)') || again : again)
                .focus();
            }
          }

          async function act(action, model) {
            say('models-msg', (action === 'load' ? 'loading ' : 'unloading ') + model + '…');
            try {
              const response = await UI.call(action, { model });
              if (!response.ok) throw new UI.UIError(await UI.errorText(response));
              say('models-msg', model + ': ' + (action === 'load' ? 'load started' : 'unloaded'), 'ok');
            } catch (error) {
              say('models-msg', model + ': ' + error.message, 'bad');
            }
            pending = 6;
            modelsPoller.kick();
          }

          document.getElementById('unload-all').addEventListener('click', async () => {
            say('models-msg', 'unloading every model…');
            try {
              const response = await UI.call('unloadAll');
              if (!response.ok) throw new UI.UIError(await UI.errorText(response));
              say('models-msg', 'every model unloaded', 'ok');
            } catch (error) { say('models-msg', error.message, 'bad'); }
            pending = 6;
            modelsPoller.kick();
          });

          UI.views.models = { enter: () => modelsPoller.start(), leave: () => modelsPoller.stop() };
          UI.fetchModels = fetchModels;

          // ---- Activity --------------------------------------------------------------------------------------
          let rows = [];
          const activityPoller = new Poller(refreshActivity, 2000);
          const filter = {
            model: document.getElementById('f-model'), status: document.getElementById('f-status'),
            stream: document.getElementById('f-stream'), heartbeats: document.getElementById('f-heartbeats'),
            text: document.getElementById('f-text'),
          };
          document.getElementById('activity-filters').addEventListener('submit', (e) => e.preventDefault());
          for (const el of Object.values(filter)) el.addEventListener('input', () => renderActivity());

          function matches(r) {
            if (filter.model.value && r.model !== filter.model.value) return false;
            const status = filter.status.value;
            if (status === 'inflight' && !r.inFlight) return false;
            if (/^[245]xx$/.test(status) && (none(r.status) || String(r.status)[0] !== status[0])) return false;
            if (status === 'errors' && !((r.status >= 500) || r.inBandErrors > 0)) return false;
            if (filter.stream.checked && !r.streaming) return false;
            if (filter.heartbeats.checked && !(r.heartbeats > 0)) return false;
            const text = filter.text.value.trim().toLowerCase();
            if (text && !(String(r.id) + ' ' + (r.route || '')).toLowerCase().includes(text)) return false;
            return true;
          }

          function statusCell(r) {
            if (r.inFlight) return h('span', { class: 'status live' }, 'in flight');
            if (none(r.status)) return '–';
            return h('span', { class: 'status s' + String(r.status)[0] }, String(r.status));
          }

          function renderActivity() {
            const models = [...new Set(rows.map((r) => r.model).filter(Boolean).concat(
              UI.state.models.map((m) => m.id)))].sort();
            const chosen = filter.model.value;
            if (filter.model.options.length - 1 !== models.length) {
              filter.model.replaceChildren(h('option', { value: '' }, 'all'),
                ...models.map((m) => h('option', { value: m }, m)));
              filter.model.value = chosen;
            }
            const shown = rows.filter(matches);
            const focusedId = document.activeElement && document.activeElement.dataset.request;
            const body = document.querySelector('#activity-table tbody');
            body.replaceChildren(...shown.map((r) => {
              const notes = [];
              if (r.clientGoneEarly) notes.push(h('span', { class: 'flag warn' }, 'client left'));
              if (r.inBandErrors > 0) notes.push(h('span', { class: 'flag bad' }, r.inBandErrors + ' in-band error'));
              return h('tr', { 'data-request': r.id },
                h('td', {}, clock(r.startedAt)),
                h('td', {}, h('a', { href: '#/request/' + encodeURIComponent(r.id), 'data-request': r.id }, r.id)),
                h('td', {}, r.model || '–'),
                h('td', {}, (r.method || '') + ' ' + (r.route || '')),
                h('td', {}, statusCell(r)),
                h('td', { class: 'num' }, ms(r.durationMs)),
                h('td', { class: 'num' }, ms(r.ttfbMs)),
                h('td', { class: 'num' }, num(r.promptTokens) + ' / ' + num(r.completionTokens)),
                h('td', { class: 'num' }, num(r.promptPerSecond, 1)),
                h('td', { class: 'num' }, num(r.predictedPerSecond, 1)),
                h('td', { class: 'num', 'data-heartbeats': r.heartbeats },
                  num(r.heartbeats) + (r.withheld > 0 ? ' (' + r.withheld + ' withheld)' : '')),
                h('td', { class: 'num' }, bytes(r.bytesSent)),
                h('td', {}, notes));
            }));
            if (!shown.length) {
              body.append(h('tr', {}, h('td', { colspan: 13 }, rows.length ? 'No request matches the filters.'
                : 'No requests yet: send one from the playground.')));
            }
            if (focusedId) {
              const again = body.querySelector('a[data-request="' + CSS.escape(focusedId) + '"]');
              if (again) again.focus();
            }
            say('activity-count', 'showing ' + shown.length + ' of ' + rows.length + ' recent requests');
          }

          async function refreshActivity() {
            try {
              const data = await UI.json('activity', { limit: 500 });
              rows = data.requests || [];
            } catch (error) { say('activity-count', error.message, 'bad'); return; }
            renderActivity();
          }

          UI.views.activity = {
            enter: () => { if (!UI.state.models.length) fetchModels().catch(() => {}); activityPoller.start(); },
            leave: () => activityPoller.stop(),
          };

          // ---- One request: facts, live timeline, capture ----------------------------------------------------
          let requestId = null;
          let lastTimeline = null;
          const box = document.getElementById('request-timeline');
          const deadlines = document.getElementById('request-deadlines');
          const timelinePoller = new Poller(refreshTimeline, 500);
          deadlines.addEventListener('change', () => {
            if (lastTimeline) Timeline.render(box, lastTimeline, { allDeadlines: deadlines.checked });
          });

          function fact(label, value) { return [label + ' ', h('b', {}, value), ' · ']; }

          async function refreshFacts(id) {
            let data;
            try { data = await UI.json('activity', { limit: 500 }); } catch (error) { return; }
            const r = (data.requests || []).find((row) => row.id === id);
            const el = document.getElementById('request-facts');
            if (id !== requestId) return null;
            if (!r) { el.textContent = 'This request is no longer in the activity list.'; return null; }
            document.getElementById('capture-export').disabled = r.hasCapture === false;
            el.replaceChildren(...fact('model', r.model || '–'), ...fact('route', (r.method || '') + ' ' +
              (r.route || '')), ...fact('status', r.inFlight ? 'in flight' : String(r.status)),
              ...fact('started', clock(r.startedAt)), ...fact('duration', ms(r.durationMs)),
              ...fact('TTFB', ms(r.ttfbMs)), ...fact('tokens', num(r.promptTokens) + ' / ' + num(r.completionTokens)),
              ...fact('speed', num(r.promptPerSecond, 1) + ' / ' + num(r.predictedPerSecond, 1) + ' t/s'),
              ...fact('heartbeats', num(r.heartbeats)), ...fact('withheld', num(r.withheld)),
              ...fact('in-band errors', num(r.inBandErrors)), ...fact('sent', bytes(r.bytesSent)),
              'client ', h('b', {}, r.clientGoneEarly ? 'left early' : 'stayed'));
            return r;
          }

          async function refreshTimeline() {
            const id = requestId;
            let timeline;
            try { timeline = await UI.json('timeline', { rid: id }); } catch (error) {
              if (id === requestId) { Timeline.empty(box, 'No timeline: ' + error.message); timelinePoller.stop(); }
              return;
            }
            if (id !== requestId) return;
            const wasInFlight = lastTimeline ? lastTimeline.inFlight : true;
            lastTimeline = timeline;
            Timeline.render(box, timeline, { allDeadlines: deadlines.checked });
            if (!timeline.inFlight) {
              timelinePoller.stop();
              say('request-msg', 'finished');
              if (wasInFlight) {
                const row = await refreshFacts(id);
                if (row && row.hasCapture === false) {
                  say('capture-msg', 'no capture: captures are off, or this one was dropped to stay within the buffer');
                } else if (row) {
                  loadCapture(id);
                }
              }
            } else {
              say('request-msg', 'in flight: the timeline follows it');
            }
          }

          // ---- Capture ----
          function headerTable(headers) {
            return h('table', {}, h('tbody', {}, (headers || []).map(([k, v]) =>
              h('tr', {}, h('td', { class: 't' }, k), h('td', {}, v)))));
          }
          function visible(text) {
            return String(text).replace(/\r/g, '\\r').replace(/\n/g, '\\n\n');
          }

          async function loadCapture(id) {
            const target = document.getElementById('capture');
            say('capture-msg', 'loading the capture…');
            let capture;
            try { capture = await UI.json('capture', { rid: id }); } catch (error) {
              if (id === requestId) {
                say('capture-msg', 'no capture: ' + error.message, 'bad');
                target.replaceChildren();
              }
              return;
            }
            if (id !== requestId) return;
            const request = capture.request || {};
            const response = capture.response || {};
            const chunks = response.chunks || [];
            target.replaceChildren(
              h('section', {}, h('h4', {}, 'Request: ' + (request.method || '') + ' ' + (request.uri || '') +
                (none(request.bodyBytes) ? '' : ' · body ' + bytes(request.bodyBytes))),
                headerTable(request.headers), h('pre', { tabindex: 0 }, request.body || '')),
              h('section', {}, h('h4', {}, 'Response: ' + (none(response.status) ? '–' : response.status) + ' · ' +
                chunks.length + ' reads'), headerTable(response.headers),
                h('div', { class: 'chunks', tabindex: 0 }, h('table', {}, h('tbody', {}, chunks.map((c) =>
                  h('tr', { class: String(c.text).startsWith(':') ? 'hb' : '' }, h('td', { class: 't' }, ms(c.t)),
                    h('td', {}, h('pre', {}, visible(c.text))))))))));
            const cut = capture.truncated ? '; this capture was cut at the capture bound' : '';
            say('capture-msg', 'secrets are redacted' + cut, capture.truncated ? 'bad' : '');
          }

          document.getElementById('capture-reload').addEventListener('click', () => {
            if (requestId) loadCapture(requestId);
          });

          document.getElementById('capture-export').addEventListener('click', async () => {
            const id = requestId;
            if (!id) return;
            say('capture-msg', 'exporting…');
            try {
              const response = await UI.call('scenario', { rid: id });
              if (!response.ok) throw new UI.UIError(await UI.errorText(response));
              const disposition = response.headers.get('Content-Disposition') || '';
              const match = /filename="([^"]+)"/.exec(disposition);
              const name = match ? match[1] : id + '.yaml';
              const blob = await response.blob();
              const link = h('a', { href: URL.createObjectURL(blob), download: name, class: 'sr' }, name);
              document.body.append(link);
              link.click();
              setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
              say('capture-msg', 'saved ' + name + ' (' + blob.size + ' bytes): replay it with harness replay', 'ok');
              document.getElementById('capture-msg').dataset.bytes = String(blob.size);
            } catch (error) { say('capture-msg', 'export failed: ' + error.message, 'bad'); }
          });

          UI.views.request = {
            enter: (id) => {
              requestId = id;
              lastTimeline = null;
              document.getElementById('request-id').textContent = id || '';
              document.getElementById('request-facts').textContent = '';
              document.getElementById('capture').replaceChildren();
              document.getElementById('capture-export').disabled = false;
              say('capture-msg', ''); say('request-msg', '');
              Timeline.empty(box, 'loading…');
              if (!id) return;
              refreshFacts(id);
              timelinePoller.start();
            },
            leave: () => { timelinePoller.stop(); requestId = null; },
          };

          // ---- Logs ------------------------------------------------------------------------------------------
          const MAX_LINES = 3000;
          const logBox = document.getElementById('logs');
          const source = document.getElementById('logs-source');
          const follow = document.getElementById('logs-follow');
          let logAbort = null;
          let logRetry = null;

          function appendLines(lines) {
            const fragment = document.createDocumentFragment();
            for (const line of lines) {
              fragment.append(h('div', { class: line.startsWith('[proxy] ') ? 'proxy' : 'upstream' }, line));
            }
            logBox.append(fragment);
            while (logBox.childElementCount > MAX_LINES) logBox.firstElementChild.remove();
            if (follow.checked) logBox.scrollTop = logBox.scrollHeight;
          }

          async function followLogs() {
            stopLogs();
            const controller = new AbortController();
            logAbort = controller;
            const chosen = source.value;
            say('logs-msg', 'following ' + (chosen || 'all') + ' logs');
            try {
              const response = chosen ? await UI.call('logs', { source: chosen }, { signal: controller.signal })
                : await UI.call('logsAll', {}, { signal: controller.signal });
              if (!response.ok) throw new UI.UIError(await UI.errorText(response));
              const reader = response.body.getReader();
              const decoder = new TextDecoder();
              let rest = '';
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                rest += decoder.decode(value, { stream: true });
                const lines = rest.split('\n');
                rest = lines.pop();
                if (lines.length) appendLines(lines);
              }
              if (logAbort === controller) {
                say('logs-msg', 'the log stream ended; reconnecting in 2 s');
                logRetry = setTimeout(followLogs, 2000);
              }
            } catch (error) {
              if (error.name === 'AbortError' || logAbort !== controller) return;
              say('logs-msg', error.message + '; retrying in 5 s', 'bad');
              logRetry = setTimeout(followLogs, 5000);
            }
          }

          function stopLogs() {
            clearTimeout(logRetry);
            if (logAbort) { const c = logAbort; logAbort = null; c.abort(); }
          }

          function fillSources(models) {
            const chosen = source.value;
            const fixed = ['', 'proxy', 'upstream'];
            const wanted = fixed.concat(models.map((m) => m.id));
            const have = [...source.options].map((o) => o.value);
            if (have.join('\n') === wanted.join('\n')) return;
            source.replaceChildren(...wanted.map((v) => h('option', { value: v }, v === '' ? 'all' :
              (fixed.includes(v) ? v : 'model ' + v))));
            source.value = wanted.includes(chosen) ? chosen : '';
          }
          UI.state.modelListeners.push(fillSources);

          source.addEventListener('change', () => {
            logBox.replaceChildren();
            window.location.hash = '#/logs' + (source.value ? '/' + encodeURIComponent(source.value) : '');
          });
          document.getElementById('logs-clear').addEventListener('click', () => logBox.replaceChildren());

          UI.views.logs = {
            enter: async (chosen) => {
              try { fillSources(await fetchModels()); } catch (e) { /* shown by the stream below */ }
              const wanted = chosen || '';
              if (![...source.options].some((o) => o.value === wanted)) {
                source.append(h('option', { value: wanted }, 'model ' + wanted));
              }
              logBox.replaceChildren(); // the stream sends its history again
              source.value = wanted;
              followLogs();
            },
            leave: () => stopLogs(),
          };
        })();

        """#
}
