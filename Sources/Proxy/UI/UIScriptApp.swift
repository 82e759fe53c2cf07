/// `app.js`: the UI's core — the table of every endpoint the page calls (checked against the router by
/// `UIAssetTests`), the API key, DOM helpers, pollers and the view router. The views are in `views.js` and
/// `playground.js`, the timeline drawing in `timeline.js`.
enum UIScriptApp {
    static let js = #"""
        'use strict';
        // llama-proxy web UI, core. Every request this page makes goes through UI.call with a name from API below;
        // no other path is used (UIAssetTests checks each against the proxy's router). The API key, if the proxy has
        // apiKeys, is entered once, kept in this browser's localStorage and sent as a Bearer token.
        const UI = (() => {
          // ENDPOINTS BEGIN
          const API = {
            models: ['GET', '/v1/models'],
            running: ['GET', '/running'],
            load: ['POST', '/api/models/load/{model}'],
            unload: ['POST', '/api/models/unload/{model}'],
            unloadAll: ['POST', '/api/models/unload'],
            activity: ['GET', '/api/activity?limit={limit}'],
            timeline: ['GET', '/api/activity/{rid}/timeline'],
            capture: ['GET', '/api/captures/{rid}'],
            scenario: ['GET', '/api/captures/{rid}/scenario'],
            logsAll: ['GET', '/logs/stream'],
            logs: ['GET', '/logs/stream/{source}'],
            chat: ['POST', '/v1/chat/completions'],
            settings: ['GET', '/ui/settings.json'],
          };
          // ENDPOINTS END

          const KEY_STORE = 'llama-proxy.apiKey';
          let apiKey = '';
          try { apiKey = window.localStorage.getItem(KEY_STORE) || ''; } catch (e) { apiKey = ''; }

          // From /ui/settings.json: with apiKeys, nothing is asked of the API before a key is entered (a request
          // without one would only collect a 401).
          let keyRequired = false;

          class UIError extends Error {}

          // A model id may contain '/' (org/model): the router reads it as path segments. A request id is one segment.
          function encodeParam(name, value) {
            const text = String(value === undefined || value === null ? '' : value);
            if (name === 'model') return text.split('/').map(encodeURIComponent).join('/');
            return encodeURIComponent(text);
          }

          function url(name, params) {
            const entry = API[name];
            if (!entry) throw new UIError('unknown endpoint ' + name);
            return entry[1].replace(/\{(\w+)\}/g, (_, key) => encodeParam(key, (params || {})[key]));
          }

          const conn = () => document.getElementById('conn');
          function setConnection(text, kind) {
            const el = conn();
            if (!el || el.textContent === text) return;
            el.textContent = text;
            el.className = 'conn ' + (kind || '');
          }

          // fetch with the key; credentials 'omit' so a 401 never opens the browser's own password dialog.
          async function call(name, params, init) {
            if (keyRequired && !apiKey && name !== 'settings') {
              setConnection('API key needed', 'bad');
              throw new UIError('enter the API key (top right) first');
            }
            const options = Object.assign({}, init || {});
            const headers = Object.assign({}, options.headers || {});
            if (apiKey) headers.Authorization = 'Bearer ' + apiKey;
            options.method = API[name][0];
            options.headers = headers;
            options.credentials = 'omit';
            options.cache = 'no-store';
            let response;
            try {
              response = await fetch(url(name, params), options);
            } catch (error) {
              if (error && error.name === 'AbortError') throw error;
              setConnection('proxy unreachable', 'bad');
              throw new UIError('the proxy did not answer');
            }
            if (response.status === 401) {
              setConnection('API key needed', 'bad');
              const input = document.getElementById('api-key');
              if (input && document.activeElement !== input && !apiKey) input.focus();
            } else {
              setConnection(apiKey ? 'connected (key)' : 'connected', 'ok');
            }
            return response;
          }

          async function errorText(response) {
            const text = await response.text().catch(() => '');
            try {
              const body = JSON.parse(text);
              if (body && body.error && body.error.message) return response.status + ': ' + body.error.message;
            } catch (e) { /* not JSON */ }
            return 'HTTP ' + response.status + (text ? ': ' + text.slice(0, 200) : '');
          }

          async function json(name, params) {
            const response = await call(name, params);
            if (!response.ok) throw new UIError(await errorText(response));
            return response.json();
          }

          // h('a', {href: '#', class: 'x', onclick: fn}, 'text', child…): text is always text, never markup.
          function h(tag, attrs, ...children) {
            const el = document.createElement(tag);
            for (const [key, value] of Object.entries(attrs || {})) {
              if (value === null || value === undefined || value === false) continue;
              if (key === 'class') el.className = value;
              else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
              else el.setAttribute(key, value === true ? '' : String(value));
            }
            for (const child of children.flat()) {
              if (child === null || child === undefined || child === false) continue;
              el.append(child instanceof Node ? child : String(child));
            }
            return el;
          }

          function say(id, text, kind) {
            const el = document.getElementById(id);
            if (!el) return;
            el.textContent = text || '';
            el.className = 'msg' + (kind ? ' ' + kind : '');
          }

          // Formatting: '–' for unknown values (the API gives null).
          const none = (v) => v === null || v === undefined || Number.isNaN(v);
          function ms(v) {
            if (none(v)) return '–';
            if (Math.abs(v) < 1000) return v.toFixed(v < 10 ? 1 : 0) + ' ms';
            if (Math.abs(v) < 60000) return (v / 1000).toFixed(2) + ' s';
            return (v / 60000).toFixed(1) + ' min';
          }
          const num = (v, digits) => none(v) ? '–' : Number(v).toFixed(digits || 0);
          function bytes(v) {
            if (none(v)) return '–';
            if (v < 1024) return v + ' B';
            if (v < 1048576) return (v / 1024).toFixed(1) + ' KiB';
            return (v / 1048576).toFixed(1) + ' MiB';
          }
          function clock(unixMs) {
            if (none(unixMs)) return '–';
            const d = new Date(unixMs);
            const pad = (n) => String(n).padStart(2, '0');
            return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
          }

          // Runs task now and then every interval() ms until stopped; never two at once; paused while hidden.
          class Poller {
            constructor(task, interval) {
              this.task = task;
              this.interval = typeof interval === 'function' ? interval : () => interval;
              this.running = false; this.busy = false; this.again = false; this.timer = null;
            }
            start() { if (!this.running) { this.running = true; this.kick(); } }
            stop() { this.running = false; clearTimeout(this.timer); this.timer = null; }
            async kick() {
              if (!this.running) return;
              if (this.busy) { this.again = true; return; }
              clearTimeout(this.timer);
              this.busy = true;
              try { if (!document.hidden) await this.task(); } catch (e) { /* each task shows its own errors */ }
              this.busy = false;
              if (!this.running) return;
              if (this.again) { this.again = false; this.kick(); return; }
              this.timer = setTimeout(() => this.kick(), this.interval());
            }
          }

          // Views: name → {enter(param), leave()}; the hash is #/name[/param].
          const views = {};
          let current = null;
          function route() {
            const hash = window.location.hash || '#/models';
            const match = /^#\/([a-z]+)(?:\/(.*))?$/.exec(hash);
            let name = match ? match[1] : 'models';
            if (!views[name]) name = 'models';
            const param = match && match[2] !== undefined ? decodeURIComponent(match[2]) : null;
            if (current) { current.view.leave(); document.getElementById('view-' + current.name).hidden = true; }
            current = { name, view: views[name] };
            document.getElementById('view-' + name).hidden = false;
            for (const link of document.querySelectorAll('header nav a')) {
              const active = link.dataset.view === name || (name === 'request' && link.dataset.view === 'activity');
              if (active) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
            }
            current.view.enter(param);
          }

          // Shared state: the model list (models view, activity filter, playground).
          const state = { models: [], modelListeners: [] };
          function setModels(list) {
            state.models = list;
            for (const listener of state.modelListeners) listener(list);
          }

          async function start() {
            const form = document.getElementById('key-form');
            const input = document.getElementById('api-key');
            input.value = apiKey;
            form.addEventListener('submit', (event) => {
              event.preventDefault();
              apiKey = input.value.trim();
              try { window.localStorage.setItem(KEY_STORE, apiKey); } catch (e) { /* private mode */ }
              setConnection('key saved', 'ok');
              route();
            });
            document.getElementById('key-forget').addEventListener('click', () => {
              apiKey = ''; input.value = '';
              try { window.localStorage.removeItem(KEY_STORE); } catch (e) { /* private mode */ }
              setConnection('key forgotten', '');
              route();
            });
            window.addEventListener('hashchange', route);
            try {
              const settings = await json('settings');
              keyRequired = !!settings.apiKeyRequired;
            } catch (e) { /* an old proxy, or unreachable: the views say so */ }
            if (keyRequired && !apiKey) { setConnection('API key needed', 'bad'); input.focus(); }
            route();
          }

          return { API, url, call, json, errorText, h, say, ms, num, bytes, clock, none, Poller, views, state,
            setModels, start, UIError };
        })();

        // Everything is defined once every deferred script has run.
        window.addEventListener('DOMContentLoaded', () => UI.start());

        """#
}
