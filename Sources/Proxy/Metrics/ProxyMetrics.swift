import CoreMetrics
import NIOConcurrencyHelpers
import DurationMath
import Prometheus

/// The proxy's metrics, through swift-metrics: every handle is made from one injected `MetricsFactory` (the
/// Prometheus registry in ``ProxyService``, `TestMetrics` in tests, nothing by default), so library code has no global
/// metrics state. Requests report here once, at their end, with the ``RequestStats`` their connection filled.
///
/// `/metrics` renders ``exposition()``: the registry's text with a `# HELP` line per family (swift-metrics handles
/// carry no help text, so the help comes from ``help``).
public final class ProxyMetrics: Sendable {
    let factory: any MetricsFactory
    private let render: (@Sendable () -> String)?
    /// Every request moves about ten handles; making one asks the factory (the Prometheus registry: a lock, a label
    /// check, a dictionary of label sets) each time, about 2 % of a small request's CPU. The handles of each model
    /// and of each (model, route, status) are made once and kept here; both sets are bounded by the config's models,
    /// the bounded route labels and the status codes.
    private let handles = NIOLockedValueBox(HandleCache())

    /// Metrics made from `factory`; `render` produces the exposition text for `/metrics` (`nil`: not served).
    public init(factory: any MetricsFactory, render: (@Sendable () -> String)? = nil) {
        self.factory = factory
        self.render = render
    }

    /// No metrics, no `/metrics` (embedded routers and tests that do not look).
    public static let disabled = ProxyMetrics(factory: NOOPMetricsHandler.instance)

    /// Metrics into a new Prometheus registry of their own, served at `/metrics`. Duration histograms get buckets
    /// up to 10 minutes: a model load or a long prompt takes minutes, past the library's 10-second default.
    public static func prometheus() -> ProxyMetrics {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        factory.defaultValueHistogramBuckets = speedBuckets
        return ProxyMetrics(factory: factory) {
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600),
    ]

    /// Tokens per second: from a CPU's few to a GPU's thousands of prompt tokens.
    static let speedBuckets: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]

    /// The `/metrics` body, or `nil` when this proxy serves none.
    public func exposition() -> String? {
        render.map { Self.addingHelp(to: $0()) }
    }

    // MARK: Names

    enum Name {
        static let requests = "llamaproxy_requests_total"
        static let inFlight = "llamaproxy_requests_in_flight"
        static let upstreamHead = "llamaproxy_upstream_head_seconds"
        static let firstByte = "llamaproxy_first_byte_seconds"
        static let duration = "llamaproxy_request_duration_seconds"
        static let bytes = "llamaproxy_response_bytes_total"
        static let heartbeats = "llamaproxy_heartbeats_sent_total"
        static let withheld = "llamaproxy_heartbeats_withheld_total"
        static let inBandErrors = "llamaproxy_inband_errors_total"
        static let clientGone = "llamaproxy_client_gone_early_total"
        static let starts = "llamaproxy_model_starts_total"
        static let startDuration = "llamaproxy_model_start_seconds"
        static let crashes = "llamaproxy_model_crashes_total"
        static let swaps = "llamaproxy_model_swaps_total"
        static let ttlUnloads = "llamaproxy_model_ttl_unloads_total"
        static let promptTokens = "llamaproxy_prompt_tokens_total"
        static let completionTokens = "llamaproxy_completion_tokens_total"
        static let promptSpeed = "llamaproxy_prompt_tokens_per_second"
        static let predictedSpeed = "llamaproxy_predicted_tokens_per_second"
    }

    /// `# HELP` text per metric family.
    static let help: [String: String] = [
        Name.requests: "Requests answered, by model (empty when none), route and status (0: no response head).",
        Name.inFlight: "Relayed requests in flight, by model.",
        Name.upstreamHead: "Time from a request's arrival to the upstream's response head, by model.",
        Name.firstByte: "Time from a request's arrival to the first byte written to the client, by model.",
        Name.duration: "Time from a request's arrival to its end, by model and route.",
        Name.bytes: "Response bytes written to clients (bodies, heartbeats included), by model.",
        Name.heartbeats: "SSE heartbeats written to clients (the committing one included), by model.",
        Name.withheld: "Heartbeats due while the upstream was inside an SSE event, and so not written, by model.",
        Name.inBandErrors: "Errors sent as an SSE event after 200 was committed, by model.",
        Name.clientGone: "Requests whose client closed the connection before the response ended, by model.",
        Name.starts: "Model starts that ended, by model and result (ok: healthy; failed).",
        Name.startDuration: "Time from a model's start to healthy (or to its failure), by model.",
        Name.crashes: "Models that stopped on their own while ready, by model.",
        Name.swaps: "Starts that first stopped other running models to make room, by the model started.",
        Name.ttlUnloads: "Models unloaded after being idle for their ttl, by model.",
        Name.promptTokens: "Prompt tokens of answers that reported them (llama-server timings, else usage), by model.",
        Name.completionTokens: "Generated tokens of answers that reported them (timings, else usage), by model.",
        Name.promptSpeed: "Prompt processing speed reported by llama-server's timings, tokens per second, by model.",
        Name.predictedSpeed: "Generation speed reported by llama-server's timings, tokens per second, by model.",
    ]

    /// Inserts `# HELP name text` before each `# TYPE name …` line whose family has help text.
    static func addingHelp(to text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2048)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                if let help = help[String(name)] { out += "# HELP \(name) \(help)\n" }
            }
            out += line
            out += "\n"
        }
        if out.hasSuffix("\n\n") { out.removeLast() }
        return out
    }

    // MARK: Reports

    /// A relayed request for `model` started (its in-flight gauge goes up until ``requestEnded(_:)``).
    func relayStarted(model: String) {
        handles.withLockedValue { $0.meter(Name.inFlight, model: model, factory) }.increment()
    }

    /// One request's end: every counter and histogram it moves, once. Its handles are found with one lookup under
    /// one lock (by model, route and status), not one per family: about 3 µs of a small request's CPU before.
    func requestEnded(_ stats: RequestStats) {
        let model = stats.model ?? ""
        let heartbeats = stats.heartbeats
        let key = EndKey(model: model, route: stats.route, status: stats.status ?? 0)
        let end = handles.withLockedValue { cache in
            var end = cache.ends[key] ?? EndHandles()
            let known = end
            // Each family is made when something first moves it (it appears in `/metrics` only then).
            if stats.relayed, end.inFlight == nil { end.inFlight = cache.meter(Name.inFlight, model: model, factory) }
            if end.requests == nil {
                end.requests = cache.counter(
                    Name.requests, model: model, route: stats.route, status: "\(key.status)", factory)
            }
            if end.duration == nil { end.duration = cache.timer(Name.duration, model: model, route: stats.route, factory) }
            if stats.timeToFirstByte != nil, end.firstByte == nil {
                end.firstByte = cache.timer(Name.firstByte, model: model, factory)
            }
            if stats.bytesSent > 0, end.bytes == nil { end.bytes = cache.counter(Name.bytes, model: model, factory) }
            if stats.clientGoneEarly, end.clientGone == nil {
                end.clientGone = cache.counter(Name.clientGone, model: model, factory)
            }
            if let heartbeats {
                if heartbeats.timeToUpstreamHead != nil, end.upstreamHead == nil {
                    end.upstreamHead = cache.timer(Name.upstreamHead, model: model, factory)
                }
                if end.heartbeats == nil {
                    end.heartbeats = cache.counter(Name.heartbeats, model: model, factory)
                    end.withheld = cache.counter(Name.withheld, model: model, factory)
                    end.inBandErrors = cache.counter(Name.inBandErrors, model: model, factory)
                }
            }
            if let tokens = stats.tokens {
                if tokens.promptTokens != nil, end.promptTokens == nil {
                    end.promptTokens = cache.counter(Name.promptTokens, model: model, factory)
                }
                if tokens.completionTokens != nil, end.completionTokens == nil {
                    end.completionTokens = cache.counter(Name.completionTokens, model: model, factory)
                }
                if tokens.promptPerSecond != nil, end.promptSpeed == nil {
                    end.promptSpeed = cache.recorder(Name.promptSpeed, model: model, factory)
                }
                if tokens.predictedPerSecond != nil, end.predictedSpeed == nil {
                    end.predictedSpeed = cache.recorder(Name.predictedSpeed, model: model, factory)
                }
            }
            if end != known { cache.ends[key] = end }
            return end
        }
        if stats.relayed { end.inFlight?.decrement() }
        end.requests?.increment()
        end.duration?.recordNanoseconds(stats.duration.nanoseconds)
        if let firstByte = stats.timeToFirstByte { end.firstByte?.recordNanoseconds(firstByte.nanoseconds) }
        if stats.bytesSent > 0 { end.bytes?.increment(by: stats.bytesSent) }
        if stats.clientGoneEarly { end.clientGone?.increment() }
        if let tokens = stats.tokens {
            if let count = tokens.promptTokens { end.promptTokens?.increment(by: count) }
            if let count = tokens.completionTokens { end.completionTokens?.increment(by: count) }
            if let speed = tokens.promptPerSecond { end.promptSpeed?.record(speed) }
            if let speed = tokens.predictedPerSecond { end.predictedSpeed?.record(speed) }
        }
        guard let heartbeats else { return }
        if let head = heartbeats.timeToUpstreamHead { end.upstreamHead?.recordNanoseconds(head.nanoseconds) }
        // Zero increments too: the families exist for every relayed model from its first request on.
        end.heartbeats?.increment(by: heartbeats.heartbeatsSent)
        end.withheld?.increment(by: heartbeats.heartbeatsWithheld)
        end.inBandErrors?.increment(by: heartbeats.inBandErrors)
    }

    /// A handle's family and labels: `model`, then `route` and `status` where the family has them.
    struct HandleKey: Hashable, Sendable {
        var name: String
        var model: String
        var route: String?
        var status: String?

        var dimensions: [(String, String)] {
            [("model", model)] + (route.map { [("route", $0)] } ?? []) + (status.map { [("status", $0)] } ?? [])
        }
    }

    /// The label values a request's end is filed under.
    struct EndKey: Hashable, Sendable {
        var model: String
        var route: String
        var status: Int
    }

    /// The handles a request's end moves, each made on first use (the same handles as the per-family tables).
    struct EndHandles: Sendable, Equatable {
        var inFlight: CoreMetrics.Meter?
        var requests: CoreMetrics.Counter?
        var duration: CoreMetrics.Timer?
        var firstByte: CoreMetrics.Timer?
        var bytes: CoreMetrics.Counter?
        var clientGone: CoreMetrics.Counter?
        var upstreamHead: CoreMetrics.Timer?
        var heartbeats: CoreMetrics.Counter?
        var withheld: CoreMetrics.Counter?
        var inBandErrors: CoreMetrics.Counter?
        var promptTokens: CoreMetrics.Counter?
        var completionTokens: CoreMetrics.Counter?
        var promptSpeed: CoreMetrics.Recorder?
        var predictedSpeed: CoreMetrics.Recorder?

        static func == (lhs: EndHandles, rhs: EndHandles) -> Bool {
            lhs.inFlight === rhs.inFlight && lhs.requests === rhs.requests && lhs.duration === rhs.duration
                && lhs.firstByte === rhs.firstByte && lhs.bytes === rhs.bytes && lhs.clientGone === rhs.clientGone
                && lhs.upstreamHead === rhs.upstreamHead && lhs.heartbeats === rhs.heartbeats
                && lhs.withheld === rhs.withheld && lhs.inBandErrors === rhs.inBandErrors
                && lhs.promptTokens === rhs.promptTokens && lhs.completionTokens === rhs.completionTokens
                && lhs.promptSpeed === rhs.promptSpeed && lhs.predictedSpeed === rhs.predictedSpeed
        }
    }

    /// One handle per family and label set, made on its first use (a family appears in `/metrics` only once
    /// something moved it); read and filled under ``handles``' lock.
    struct HandleCache: Sendable {
        var counters: [HandleKey: CoreMetrics.Counter] = [:]
        var timers: [HandleKey: CoreMetrics.Timer] = [:]
        var meters: [HandleKey: CoreMetrics.Meter] = [:]
        var recorders: [HandleKey: CoreMetrics.Recorder] = [:]
        var ends: [EndKey: EndHandles] = [:]

        mutating func counter(
            _ name: String, model: String, route: String? = nil, status: String? = nil, _ factory: any MetricsFactory
        ) -> CoreMetrics.Counter {
            let key = HandleKey(name: name, model: model, route: route, status: status)
            if let known = counters[key] { return known }
            let made = Counter(label: key.name, dimensions: key.dimensions, factory: factory)
            counters[key] = made
            return made
        }

        mutating func timer(_ name: String, model: String, route: String? = nil, _ factory: any MetricsFactory)
            -> CoreMetrics.Timer
        {
            let key = HandleKey(name: name, model: model, route: route)
            if let known = timers[key] { return known }
            let made = Timer(label: key.name, dimensions: key.dimensions, factory: factory)
            timers[key] = made
            return made
        }

        /// An aggregating recorder (a histogram), as the speeds are.
        mutating func recorder(_ name: String, model: String, _ factory: any MetricsFactory) -> CoreMetrics.Recorder {
            let key = HandleKey(name: name, model: model)
            if let known = recorders[key] { return known }
            let made = Recorder(label: key.name, dimensions: key.dimensions, aggregate: true, factory: factory)
            recorders[key] = made
            return made
        }

        mutating func meter(_ name: String, model: String, _ factory: any MetricsFactory) -> CoreMetrics.Meter {
            let key = HandleKey(name: name, model: model)
            if let known = meters[key] { return known }
            let made = Meter(label: key.name, dimensions: key.dimensions, factory: factory)
            meters[key] = made
            return made
        }
    }
}

extension ProxyMetrics {
    /// The `GET /metrics` answer: the exposition in Prometheus text format 0.0.4, or 404 when none is served.
    func response() -> SimpleResponse {
        guard let text = exposition() else { return .error(404, "metrics are not enabled in this proxy") }
        return SimpleResponse(
            status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: text)
    }
}

/// The supervisor's reports (one-line hooks in ``Supervisor``).
extension ProxyMetrics {
    /// A start of `model` ended after `duration`: healthy (`succeeded`) or failed.
    func modelStartEnded(_ model: String, succeeded: Bool, after duration: Duration) {
        let result = succeeded ? "ok" : "failed"
        Counter(label: Name.starts, dimensions: [("model", model), ("result", result)], factory: factory).increment()
        Timer(label: Name.startDuration, dimensions: [("model", model)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// A ready `model` stopped on its own (it crashed or exited).
    func modelCrashed(_ model: String) {
        Counter(label: Name.crashes, dimensions: [("model", model)], factory: factory).increment()
    }

    /// Other models are stopped to make room for `model`.
    func modelSwappedIn(_ model: String) {
        Counter(label: Name.swaps, dimensions: [("model", model)], factory: factory).increment()
    }

    /// `model` was idle for its ttl and is unloaded.
    func modelUnloadedByTTL(_ model: String) {
        Counter(label: Name.ttlUnloads, dimensions: [("model", model)], factory: factory).increment()
    }
}
