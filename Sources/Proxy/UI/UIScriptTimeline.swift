/// `timeline.js`: draws one request's timeline (`GET /api/activity/{id}/timeline`) as SVG, in the harness report's
/// visual language (`TimelineReport`): the same shapes and colours per mark, a legend, lanes named on the left,
/// deadlines as dashed vertical lines. The model of the timeline is the server's (one timeline model); this is only
/// its second renderer.
enum UIScriptTimeline {
    static let js = #"""
        'use strict';
        // One request's timeline as SVG: lanes upstream / client / heartbeat / withheld / request / error, client
        // deadlines as vertical lines, 'now' while the request is in flight. Every mark is an element with class
        // 'mark LANE' and a <title>; heartbeats, withheld heartbeats, errors and request events are never merged.
        const Timeline = (() => {
          const NS = 'http://www.w3.org/2000/svg';
          const W = 1200, LEFT = 130, RIGHT = 30, AXIS = 272, H = 312;
          const LANES = [
            ['upstream', 'from upstream', 52], ['client', 'to client', 90], ['heartbeat', 'heartbeats', 128],
            ['withheld', 'withheld', 166], ['request', 'request', 204], ['error', 'errors', 242],
          ];
          const laneY = Object.fromEntries(LANES.map(([lane, , y]) => [lane, y]));
          // Above this many marks in one of the byte lanes, marks within one pixel are drawn as one.
          const MERGE_ABOVE = 600;

          function s(tag, attrs, title) {
            const el = document.createElementNS(NS, tag);
            for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
            if (title) { const t = document.createElementNS(NS, 'title'); t.textContent = title; el.append(t); }
            return el;
          }
          const f = (v) => v.toFixed(1);
          const sec = (t) => (t / 1000).toFixed(t < 10000 ? 3 : 2) + ' s';

          function niceStep(raw) {
            if (!(raw > 0) || !Number.isFinite(raw)) return 1;
            const power = Math.pow(10, Math.floor(Math.log10(raw)));
            for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
            return 10 * power;
          }
          function tickLabel(value, step) {
            const decimals = step >= 1 ? 0 : Math.ceil(-Math.log10(step));
            return value.toFixed(decimals);
          }

          // The shapes, shared by the marks and the legend.
          const shape = {
            upstream: (x, y, bytes) => {
              const h = Math.min(26, 6 + Math.log2(Math.max(1, bytes || 1)) * 1.5);
              return s('rect', {
                class: 'write mark upstream', x: f(x - 1.5), y: f(y - h / 2), width: 3, height: f(h) });
            },
            client: (x, y) => s('circle', { class: 'read mark client', cx: f(x), cy: f(y), r: 4 }),
            heartbeat: (x, y) => s('path', {
              class: 'heartbeat mark heartbeat', d: 'M' + f(x) + ' ' + f(y - 7) + 'l7 7l-7 7l-7 -7z' }),
            withheld: (x, y) => s('path', {
              class: 'withheld mark withheld', d: 'M' + f(x) + ' ' + f(y - 7) + 'l7 7l-7 7l-7 -7z' }),
            request: (x, y) => s('path', {
              class: 'reqmark mark request', d: 'M' + f(x - 5) + ' ' + f(y - 13) + 'h10l-5 7z' }),
            error: (x, y) => s('path', {
              class: 'giveup mark error', d: 'M' + f(x - 6) + ' ' + f(y - 6) + 'l12 12m0 -12l-12 12' }),
            // A connection's end (mark 'close'), as the harness draws the upstream seeing the close.
            close: (x, y, lane) => s('path', {
              class: 'upclose mark ' + lane, d: 'M' + f(x) + ' ' + f(y - 12) + 'v24' }),
            // A client giving up (mark 'giveUp').
            giveUp: (x, y, lane) => s('path', {
              class: 'giveup mark ' + lane, d: 'M' + f(x - 6) + ' ' + f(y - 6) + 'l12 12m0 -12l-12 12' }),
          };
          // The shape of one event: by its mark where the mark has its own shape, else by its lane.
          // On the byte lanes an event without bytes is a boundary (a response head, the body's end).
          const isBoundary = (e) => e.mark === 'close' || e.mark === 'head' ||
            ((e.lane === 'upstream' || e.lane === 'client') && (e.bytes === null || e.bytes === undefined));
          const hasEnd = (e) => e.end !== null && e.end !== undefined;
          // A request-lane event with an end is a span (the harness's attempts); a byte mark with an end holds
          // later reads merged into it (the server keeps each request bounded): drawn from t to end.
          const isSpan = (e) => e.mark === 'span' || (e.lane === 'request' && hasEnd(e));
          function markFor(e, x, y, xEnd) {
            if (isBoundary(e)) return shape.close(x, y, e.lane);
            if (hasEnd(e) && (e.lane === 'upstream' || e.lane === 'client')) {
              const h = e.lane === 'upstream' ? 14 : 8;
              return s('rect', { class: (e.lane === 'upstream' ? 'write' : 'readspan') + ' mark ' + e.lane,
                x: f(x - 1.5), y: f(y - h / 2), width: f(Math.max(3, xEnd - x + 3)), height: h });
            }
            if (e.mark === 'giveUp' && e.lane !== 'error') return shape.giveUp(x, y, e.lane);
            return shape[e.lane](x, y, e.bytes);
          }

          function describe(event) {
            const parts = [sec(event.t)];
            const size = event.bytes !== null && event.bytes !== undefined ? event.bytes + ' B' : null;
            if (size) parts.push(size);
            if (event.label && event.label !== size) parts.push(event.label);
            if (hasEnd(event)) parts.push('until ' + sec(event.end));
            return parts.join(' · ');
          }

          // Longest time the client received nothing (bytes or heartbeats), from the start to now/end.
          function longestSilence(events, end) {
            const times = events.filter((e) => e.lane === 'client' || e.lane === 'heartbeat').map((e) => e.t);
            times.sort((a, b) => a - b);
            let last = 0, longest = 0;
            for (const t of times) { longest = Math.max(longest, t - last); last = t; }
            return Math.max(longest, end - last);
          }

          function svgFor(timeline, options) {
            const events = (timeline.events || []).slice().sort((a, b) => a.t - b.t);
            const deadlines = (timeline.deadlines || []).slice().sort((a, b) => a.t - b.t);
            const lastEvent = events.reduce((m, e) => Math.max(m, e.t, e.end || 0), 0);
            const end = Math.max(timeline.now || 0, lastEvent, 1);
            let axisEnd = end;
            if (options.allDeadlines && deadlines.length) axisEnd = Math.max(end, deadlines[deadlines.length - 1].t);
            const span = axisEnd * 1.04;
            const x = (t) => LEFT + (t / span) * (W - LEFT - RIGHT);

            const counts = {};
            const svg = s('svg', { class: 'timeline', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
              role: 'img', tabindex: 0 });
            for (const [lane, name, y] of LANES) {
              const label = s('text', { class: 'lane', x: LEFT - 10, y: y + 4 });
              label.textContent = name;
              svg.append(label);
              svg.append(s('line', { class: 'lane', x1: LEFT, y1: y, x2: W - RIGHT, y2: y }));
              counts[lane] = 0;
            }
            counts.boundary = 0;
            svg.append(s('line', { class: 'axis', x1: LEFT, y1: AXIS, x2: W - RIGHT, y2: AXIS }));
            const step = niceStep(span / 1000 / 10) * 1000;
            for (let tick = 0; tick <= span; tick += step) {
              svg.append(s('line', { class: 'tick', x1: f(x(tick)), y1: AXIS, x2: f(x(tick)), y2: AXIS + 5 }));
              const label = s('text', { class: 'tick', x: f(x(tick)), y: AXIS + 18 });
              label.textContent = tickLabel(tick / 1000, step / 1000);
              svg.append(label);
            }
            const unit = s('text', { class: 'unit', x: W - RIGHT, y: AXIS + 31 });
            unit.textContent = 'seconds since the request arrived';
            svg.append(unit);

            // The request: a bar over its life (dashed while in flight), or the spans the server gives.
            const ry = laneY.request;
            const spans = events.filter((e) => isSpan(e) && laneY[e.lane] !== undefined);
            if (!spans.some((e) => e.lane === 'request')) {
              svg.append(s('rect', { class: 'attempt' + (timeline.inFlight ? ' live' : ''), x: f(x(0)), y: ry - 7,
                width: f(Math.max(1, x(end) - x(0))), height: 14 },
                timeline.inFlight ? 'in flight for ' + sec(end) : 'request took ' + sec(end)));
            }
            for (const e of spans) {
              const until = e.end === null || e.end === undefined ? end : e.end;
              svg.append(s('rect', { class: 'attempt' + (e.end === null || e.end === undefined ? ' live' : ''),
                x: f(x(e.t)), y: laneY[e.lane] - 7, width: f(Math.max(1, x(until) - x(e.t))), height: 14 },
                (e.label ? e.label + ': ' : '') + sec(e.t) + ' to ' + sec(until)));
            }

            // Byte lanes: merged per pixel when dense.
            const merged = {};
            for (const lane of ['upstream', 'client']) {
              const list = events.filter((e) => e.lane === lane && !isBoundary(e) && !hasEnd(e));
              if (list.length <= MERGE_ABOVE) continue;
              const buckets = new Map();
              for (const e of list) {
                const px = Math.round(x(e.t));
                const b = buckets.get(px) || { t: e.t, bytes: 0, n: 0 };
                b.bytes += e.bytes || 0; b.n += 1; buckets.set(px, b);
              }
              merged[lane] = buckets;
            }
            let lastLabelEnd = -1e9;
            for (const e of events) {
              const y = laneY[e.lane];
              if (y === undefined || isSpan(e)) continue;
              if (isBoundary(e)) counts.boundary += 1; else counts[e.lane] += 1;
              if (merged[e.lane] && !isBoundary(e) && !hasEnd(e)) continue;
              const mark = markFor(e, x(e.t), y, hasEnd(e) ? x(e.end) : x(e.t));
              mark.setAttribute('data-t', String(e.t));
              const t = document.createElementNS(NS, 'title');
              t.textContent = (LANES.find((l) => l[0] === e.lane)[1]) + ': ' + describe(e);
              mark.append(t);
              svg.append(mark);
              if (e.lane === 'request' && e.label && x(e.t) > lastLabelEnd && x(e.t) < W - RIGHT - 60) {
                const text = s('text', { class: 'evlabel', x: f(x(e.t) + 6), y: ry - 12 });
                text.textContent = e.label.length > 32 ? e.label.slice(0, 31) + '…' : e.label;
                svg.append(text);
                lastLabelEnd = x(e.t) + 14 + text.textContent.length * 6;
              }
            }
            for (const [lane, buckets] of Object.entries(merged)) {
              for (const [px, b] of buckets) {
                const mark = shape[lane](px, laneY[lane], b.bytes / b.n);
                mark.setAttribute('data-t', String(b.t));
                mark.setAttribute('data-count', String(b.n));
                const t = document.createElementNS(NS, 'title');
                t.textContent = b.n + ' ' + lane + ' events from ' + sec(b.t) + ', ' + b.bytes + ' B';
                mark.append(t);
                svg.append(mark);
              }
            }

            // Deadlines inside the axis; labels alternate between two rows when close.
            const shown = deadlines.filter((d) => d.t <= axisEnd);
            const rowLastX = [-1e9, -1e9];
            for (const d of shown) {
              const dx = x(d.t);
              const text = d.label || ((d.profile ? d.profile + ' ' : '') + 'deadline at ' + sec(d.t));
              // A deadline that fired (the client would have given up) in red; one still pending in grey.
              const style = d.fired === false ? 'deadline pending' : 'deadline';
              svg.append(s('line', { class: style, x1: f(dx), y1: 32, x2: f(dx), y2: AXIS }, text));
              const row = dx - rowLastX[0] > 190 ? 0 : (dx - rowLastX[1] > 190 ? 1 : -1);
              if (row < 0) continue;
              rowLastX[row] = dx;
              const nearRight = dx > W - RIGHT - 200;
              const label = s('text', { class: style + (nearRight ? ' end' : ''),
                x: f(nearRight ? dx - 4 : dx + 4), y: 13 + row * 13 });
              label.textContent = text;
              svg.append(label);
            }
            if (timeline.inFlight) {
              const nx = x(end);
              svg.append(s('line', { class: 'now', x1: f(nx), y1: 32, x2: f(nx), y2: AXIS }, 'now: ' + sec(end)));
              const label = s('text', { class: 'now end', x: f(nx - 4), y: AXIS - 4 });
              label.textContent = 'now';
              svg.append(label);
            }
            const summary = counts.heartbeat + ' heartbeats, ' + counts.withheld + ' withheld, ' + counts.upstream +
              ' upstream reads, ' + counts.client + ' client writes, ' + counts.error + ' errors over ' + sec(end) +
              (timeline.inFlight ? ' (in flight)' : '') +
              (timeline.eventsMerged > 0 ? '; ' + timeline.eventsMerged + ' later reads merged into longer marks'
                : '') +
              (timeline.eventsDropped > 0 ? '; ' + timeline.eventsDropped + ' events dropped to stay bounded' : '');
            svg.setAttribute('aria-label', 'Timeline: ' + summary);
            const hidden = deadlines.filter((d) => d.t > axisEnd);
            return { svg, summary, hidden, end, events, counts };
          }

          function legend() {
            const items = [
              [shape.upstream(12, 15, 256), 'upstream read'],
              [shape.client(12, 15), 'to the client'],
              [shape.heartbeat(12, 15), 'heartbeat'],
              [shape.withheld(12, 15), 'withheld (inside an event)'],
              [shape.request(12, 24), 'request event'],
              [shape.error(12, 15), 'error'],
              [shape.close(12, 15, 'upstream'), 'head / end'],
              [s('line', { class: 'deadline', x1: 12, y1: 3, x2: 12, y2: 27 }), 'deadline passed'],
              [s('line', { class: 'deadline pending', x1: 12, y1: 3, x2: 12, y2: 27 }), 'deadline pending'],
              [s('line', { class: 'now', x1: 12, y1: 3, x2: 12, y2: 27 }), 'now'],
            ];
            const groups = [];
            let offset = 0, row = 0;
            for (const [mark, text] of items) {
              const width = 34 + text.length * 6.6;
              if (offset + width > W) { offset = 0; row += 1; }
              const g = s('g', { transform: 'translate(' + f(offset) + ' ' + row * 30 + ')' });
              mark.setAttribute('class', mark.getAttribute('class').replace(/\bmark\b/, 'legend-mark'));
              g.append(mark);
              const label = s('text', { x: 24, y: 20 });
              label.textContent = text;
              g.append(label);
              groups.push(g);
              offset += width;
            }
            const height = (row + 1) * 30;
            const svg = s('svg', { class: 'legend', viewBox: '0 0 ' + W + ' ' + height, width: W, height,
              role: 'img', 'aria-label': 'Legend: ' + items.map((i) => i[1]).join(', ') });
            svg.append(...groups);
            return svg;
          }

          // Draws timeline into container (replacing what was there); keeps an open event table open.
          function render(container, timeline, options) {
            const opts = options || {};
            const wasOpen = !!container.querySelector('details[open]');
            const drawn = svgFor(timeline, opts);
            const note = UI.h('p', { class: 'note' }, drawn.summary + '; longest silence at the client ' +
              sec(longestSilence(drawn.events, drawn.end)) + '.');
            if (drawn.hidden.length) {
              note.append(' Beyond this axis: ' + drawn.hidden.slice(0, 6)
                .map((d) => d.label || ((d.profile ? d.profile + ' ' : '') + 'at ' + sec(d.t))).join('; ') +
                (drawn.hidden.length > 6 ? ', …' : '') + '.');
            }
            const rows = drawn.events.slice(0, 400).map((e) => UI.h('tr', {},
              UI.h('td', {}, sec(e.t)), UI.h('td', {}, e.lane), UI.h('td', {}, e.bytes === null ||
                e.bytes === undefined ? '' : e.bytes + ' B'), UI.h('td', {}, e.label || '')));
            const details = UI.h('details', { open: wasOpen },
              UI.h('summary', {}, 'Events as a table (' + drawn.events.length + ')'),
              UI.h('table', {}, UI.h('thead', {}, UI.h('tr', {}, UI.h('th', {}, 'time'), UI.h('th', {}, 'lane'),
                UI.h('th', {}, 'bytes'), UI.h('th', {}, 'label'))), UI.h('tbody', {}, rows)),
              drawn.events.length > 400 ? UI.h('p', {}, 'first 400 of ' + drawn.events.length + ' shown') : null);
            container.replaceChildren(drawn.svg, legend(), note, details);
            container.dataset.heartbeats = String(drawn.counts.heartbeat);
            container.dataset.inFlight = String(!!timeline.inFlight);
            return drawn.counts;
          }

          function empty(container, text) {
            container.replaceChildren(UI.h('p', { class: 'empty' }, text));
            delete container.dataset.heartbeats;
          }

          return { render, empty };
        })();

        """#
}
