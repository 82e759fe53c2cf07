/// `playground.js`: a small chat client that shows what arrives and when — the proxy's heartbeat comments
/// included — and the request's live timeline beside the answer.
enum UIScriptPlayground {
    static let js = #"""
        'use strict';
        // Playground: one chat request at a time, streamed or not. Every SSE comment line (the proxy's heartbeats,
        // or an upstream's own pings) is listed with its arrival time; the live timeline is the proxy's view.
        (() => {
          const { h, say } = UI;
          const el = (id) => document.getElementById(id);
          const form = el('play-form'), modelSelect = el('play-model'), prompt = el('play-prompt');
          const streamBox = el('play-stream'), maxTokens = el('play-max'), send = el('play-send');
          const stop = el('play-stop'), output = el('play-output'), status = el('play-status');
          const list = el('play-events'), hbCount = el('play-hb'), box = el('play-timeline'), open = el('play-open');
          const MAX_EVENTS = 400;
          let controller = null;
          let requestId = null;
          let heartbeats = 0;
          let started = 0;
          let dataRun = null;

          const since = () => '+' + ((performance.now() - started) / 1000).toFixed(2) + ' s';

          function fillModels(models) {
            const chosen = modelSelect.value;
            const ids = models.map((m) => m.id);
            if ([...modelSelect.options].map((o) => o.value).join('\n') === ids.join('\n')) return;
            modelSelect.replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
            if (ids.includes(chosen)) modelSelect.value = chosen;
          }
          UI.state.modelListeners.push(fillModels);

          function addEvent(kind, text) {
            const item = h('li', { class: kind }, text);
            list.append(item);
            while (list.childElementCount > MAX_EVENTS) list.firstElementChild.remove();
            list.scrollTop = list.scrollHeight;
            return item;
          }

          function appendOutput(text, kind) {
            const last = output.lastElementChild;
            if (last && last.className === (kind || 'content')) last.textContent += text;
            else output.append(h('span', { class: kind || 'content' }, text));
            output.scrollTop = output.scrollHeight;
          }

          function onLine(line) {
            if (line === '') return;
            if (line.startsWith(':')) {
              heartbeats += 1;
              dataRun = null;
              hbCount.textContent = '· ' + heartbeats + (heartbeats === 1 ? ' heartbeat' : ' heartbeats');
              hbCount.dataset.count = String(heartbeats);
              addEvent('hb', since() + '  ' + line);
              return;
            }
            if (!line.startsWith('data:')) { addEvent('', since() + '  ' + line.slice(0, 120)); return; }
            const payload = line.slice(5).trim();
            if (payload === '[DONE]') { dataRun = null; addEvent('', since() + '  data: [DONE]'); return; }
            let event;
            try { event = JSON.parse(payload); } catch (e) {
              addEvent('', since() + '  ' + payload.slice(0, 120));
              return;
            }
            if (event.error) {
              dataRun = null;
              const message = event.error.message || JSON.stringify(event.error);
              appendOutput('\n[error] ' + message, 'error');
              addEvent('err', since() + '  in-band error: ' + message);
              return;
            }
            const choice = (event.choices || [])[0] || {};
            const delta = choice.delta || {};
            if (delta.reasoning_content) appendOutput(delta.reasoning_content, 'reasoning');
            if (delta.content) appendOutput(delta.content);
            if (!dataRun) { dataRun = { first: since(), n: 0, item: addEvent('', '') }; }
            dataRun.n += 1;
            dataRun.item.textContent = dataRun.first + '  ' + dataRun.n + (dataRun.n === 1 ? ' data event' :
              ' data events') + (dataRun.n > 1 ? ' (to ' + since() + ')' : '');
          }

          async function readStream(response) {
            const reader = response.body.getReader();
            const decoder = new TextDecoder();
            let rest = '';
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              rest += decoder.decode(value, { stream: true });
              const lines = rest.split(/\r\n|\r|\n/);
              rest = lines.pop();
              for (const line of lines) onLine(line);
            }
            if (rest) onLine(rest);
          }

          const timelinePoller = new UI.Poller(async () => {
            if (!requestId) return;
            const id = requestId;
            try {
              const timeline = await UI.json('timeline', { rid: id });
              if (id !== requestId) return;
              Timeline.render(box, timeline, {});
              if (!timeline.inFlight && !controller) timelinePoller.stop();
            } catch (error) {
              Timeline.empty(box, 'No timeline: ' + error.message);
              timelinePoller.stop();
            }
          }, 500);

          form.addEventListener('submit', async (event) => {
            event.preventDefault();
            if (!modelSelect.value) { say('play-msg', 'no model to send to', 'bad'); return; }
            if (controller) return;
            const stream = streamBox.checked;
            const id = 'ui-' + Date.now().toString(36) + '-' + Math.random().toString(16).slice(2, 8);
            const body = { model: modelSelect.value, stream, max_tokens: Number(maxTokens.value) || 64,
              messages: [{ role: 'user', content: prompt.value }] };
            requestId = id;
            heartbeats = 0; dataRun = null;
            output.replaceChildren(); list.replaceChildren();
            hbCount.textContent = ''; hbCount.dataset.count = '0';
            Timeline.empty(box, 'The timeline appears when the proxy answers (its first heartbeat, at the latest).');
            open.hidden = false;
            open.setAttribute('href', '#/request/' + encodeURIComponent(id));
            controller = new AbortController();
            send.disabled = true; stop.disabled = false;
            say('play-msg', 'sending…');
            status.textContent = 'request ' + id + ' sent to ' + body.model;
            status.dataset.state = 'waiting';
            started = performance.now();
            addEvent('', '+0.00 s  POST ' + (stream ? 'stream' : 'no stream'));
            let outcome = 'done';
            let answered = false;
            try {
              const response = await UI.call('chat', {}, { body: JSON.stringify(body), signal: controller.signal,
                headers: { 'Content-Type': 'application/json', 'X-Request-Id': id } });
              answered = true;
              const type = response.headers.get('Content-Type') || '';
              addEvent('', since() + '  head: HTTP ' + response.status + ' ' + type);
              status.textContent = 'request ' + id + ': HTTP ' + response.status + ', head at ' + since();
              timelinePoller.start();
              if (type.includes('text/event-stream')) {
                await readStream(response);
              } else {
                const text = await response.text();
                let shown = text;
                try {
                  const json = JSON.parse(text);
                  if (json.error) { outcome = 'error'; shown = '[error] ' + (json.error.message || text); }
                  else shown = ((json.choices || [])[0] || {}).message ? json.choices[0].message.content : text;
                } catch (e) { /* not JSON: shown as it is */ }
                appendOutput(shown, outcome === 'error' ? 'error' : 'content');
              }
              if (!response.ok) outcome = 'error';
              addEvent('', since() + '  end of response');
              status.textContent += ', ended at ' + since() + ', ' + heartbeats + ' heartbeats';
            } catch (error) {
              outcome = error.name === 'AbortError' ? 'stopped' : 'error';
              addEvent(outcome === 'error' ? 'err' : '', since() + '  ' + (outcome === 'stopped' ? 'stopped by you' :
                error.message));
            } finally {
              controller = null;
              send.disabled = false; stop.disabled = true;
              status.dataset.state = outcome;
              say('play-msg', outcome === 'done' ? 'done' : outcome, outcome === 'done' ? 'ok' : 'bad');
              if (answered) { timelinePoller.start(); timelinePoller.kick(); }
            }
          });

          stop.addEventListener('click', () => { if (controller) controller.abort(); });

          UI.views.playground = {
            enter: () => {
              UI.fetchModels().catch((error) => say('play-msg', error.message, 'bad'));
              if (requestId) timelinePoller.start();
            },
            leave: () => timelinePoller.stop(),
          };
        })();

        """#
}
