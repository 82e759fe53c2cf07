/// The page at `/ui`: the skeleton of every view; the scripts fill it. No inline script or style (the page's
/// Content-Security-Policy allows only this proxy's own files).
enum UIPage {
    static let html = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>llama-proxy</title>
        <link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/ui/app.css">
        <script src="/ui/app.js" defer></script>
        <script src="/ui/timeline.js" defer></script>
        <script src="/ui/views.js" defer></script>
        <script src="/ui/playground.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <h1><span class="logo" aria-hidden="true">&#9829;</span> llama-proxy</h1>
          <nav aria-label="Sections">
            <a href="#/models" data-view="models">Models</a>
            <a href="#/activity" data-view="activity">Activity</a>
            <a href="#/logs" data-view="logs">Logs</a>
            <a href="#/playground" data-view="playground">Playground</a>
          </nav>
          <form id="key-form" class="key" autocomplete="off">
            <label for="api-key">API key</label>
            <input id="api-key" type="password" placeholder="none" size="14" spellcheck="false">
            <button type="submit">Use key</button>
            <button type="button" id="key-forget">Forget</button>
          </form>
          <span id="conn" class="conn" role="status" aria-live="polite">connecting…</span>
        </header>
        <main id="main" tabindex="-1">

        <section id="view-models" class="view" aria-labelledby="h-models" hidden>
          <div class="bar">
            <h2 id="h-models">Models</h2>
            <button type="button" id="unload-all">Unload all</button>
            <span id="models-msg" class="msg" role="status" aria-live="polite"></span>
          </div>
          <table class="grid" id="models-table">
            <caption class="sr">Configured models, their state and actions</caption>
            <thead><tr><th scope="col">Model</th><th scope="col">Name</th><th scope="col">State</th>
              <th scope="col">In flight</th><th scope="col">Actions</th></tr></thead>
            <tbody></tbody>
          </table>
          <p class="hint">A model loads on its first request, or with <b>Load</b>. Heartbeats keep streaming clients
            alive while it loads; watch one from the <a href="#/playground">playground</a>.</p>
        </section>

        <section id="view-activity" class="view" aria-labelledby="h-activity" hidden>
          <div class="bar">
            <h2 id="h-activity">Activity</h2>
            <span id="activity-count" class="msg" role="status" aria-live="polite"></span>
          </div>
          <form id="activity-filters" class="filters" aria-label="Filters">
            <label>Model <select id="f-model"><option value="">all</option></select></label>
            <label>Status <select id="f-status">
              <option value="">any</option><option value="2xx">2xx</option><option value="4xx">4xx</option>
              <option value="5xx">5xx</option><option value="errors">errors (5xx or in-band)</option>
              <option value="inflight">in flight</option></select></label>
            <label><input type="checkbox" id="f-stream"> streaming only</label>
            <label><input type="checkbox" id="f-heartbeats"> with heartbeats</label>
            <label>Search <input type="search" id="f-text" placeholder="id or route" size="16"></label>
          </form>
          <div class="scroll">
          <table class="grid" id="activity-table">
            <caption class="sr">Recent requests, newest first</caption>
            <thead><tr>
              <th scope="col">Started</th><th scope="col">Request</th><th scope="col">Model</th>
              <th scope="col">Route</th><th scope="col">Status</th><th scope="col" class="num">Duration</th>
              <th scope="col" class="num">TTFB</th><th scope="col" class="num">Tokens in / out</th>
              <th scope="col" class="num">Prompt t/s</th><th scope="col" class="num">Gen t/s</th>
              <th scope="col" class="num">Heartbeats</th><th scope="col" class="num">Bytes</th>
              <th scope="col">Notes</th></tr></thead>
            <tbody></tbody>
          </table>
          </div>
        </section>

        <section id="view-request" class="view" aria-labelledby="h-request" hidden>
          <div class="bar">
            <h2 id="h-request">Request <span id="request-id"></span></h2>
            <a href="#/activity" class="back">Back to activity</a>
            <span id="request-msg" class="msg" role="status" aria-live="polite"></span>
          </div>
          <p id="request-facts" class="facts"></p>
          <div class="timeline-tools">
            <label><input type="checkbox" id="request-deadlines"> widen the axis to every client deadline</label>
          </div>
          <div id="request-timeline" class="timeline-box"></div>
          <h3>Capture</h3>
          <div class="bar">
            <button type="button" id="capture-export">Export as scenario</button>
            <button type="button" id="capture-reload">Reload capture</button>
            <span id="capture-msg" class="msg" role="status" aria-live="polite"></span>
          </div>
          <div id="capture" class="capture"></div>
        </section>

        <section id="view-logs" class="view" aria-labelledby="h-logs" hidden>
          <div class="bar">
            <h2 id="h-logs">Logs</h2>
            <label>Source <select id="logs-source"><option value="">all</option><option value="proxy">proxy</option>
              <option value="upstream">upstream</option></select></label>
            <label><input type="checkbox" id="logs-follow" checked> follow</label>
            <button type="button" id="logs-clear">Clear</button>
            <span id="logs-msg" class="msg" role="status" aria-live="polite"></span>
          </div>
          <div id="logs" class="logs" role="log" tabindex="0" aria-label="Log lines"></div>
        </section>

        <section id="view-playground" class="view" aria-labelledby="h-playground" hidden>
          <div class="bar"><h2 id="h-playground">Playground</h2>
            <span id="play-msg" class="msg" role="status" aria-live="polite"></span></div>
          <div class="play">
            <form id="play-form" class="play-form">
              <label>Model <select id="play-model" required></select></label>
              <label for="play-prompt">Message</label>
              <textarea id="play-prompt" rows="3">Say hello in five words.</textarea>
              <div class="row">
                <label><input type="checkbox" id="play-stream" checked> stream</label>
                <label>max tokens <input type="number" id="play-max" value="64" min="1" max="4096"></label>
                <button type="submit" id="play-send">Send</button>
                <button type="button" id="play-stop" disabled>Stop</button>
              </div>
            </form>
            <div class="play-out">
              <p id="play-status" class="facts"></p>
              <div id="play-output" class="output" aria-live="polite" tabindex="0" aria-label="Answer"></div>
            </div>
            <div class="play-events">
              <h3>Arrivals <span id="play-hb" class="hb-count"></span></h3>
              <ol id="play-events" class="events" tabindex="0" aria-label="What arrived, and when"></ol>
            </div>
          </div>
          <h3>Timeline <a id="play-open" class="small" href="#/activity" hidden>open request</a></h3>
          <div id="play-timeline" class="timeline-box"></div>
        </section>

        </main>
        </body>
        </html>

        """#

    static let favicon = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
        <path d="M8 1l7 7l-7 7l-7 -7z" fill="#f0a020" stroke="#7a4a00"/></svg>

        """#
}
