import LocatedYAML
import Wire

/// The executable-spec part of a scenario file: the proxy settings, the client's request and timeout profile, and
/// what must happen (`proxy:`, `request:`, `profile:`, `expect:` at the top level).
///
/// The fake ignores it; `harness replay` runs the scenario with it and checks `expect`. Durations are as written
/// in the file, in scenario time: the runner scales them like the upstream script.
public struct ScenarioSpec: Sendable, Hashable {
    /// The model's proxy settings for the run; `nil` means the proxy's defaults (no heartbeat).
    public var proxy: ProxySettingsSpec?
    /// The request the client sends; `nil` means a streaming chat completion for the scenario's model.
    public var request: ClientRequestSpec?
    /// The client's timeout rules; `nil` lets the runner choose (see `Harness.ClientProfiles.defaultProfile`).
    public var profile: ProfileChoice?
    /// What must happen; `nil` means nothing is checked, which `harness replay` reports as a failure.
    public var expect: Expectations?
    /// Gates the runner opens, each at its time from the client's first request (scenario time). A gate step
    /// nobody opens blocks its response, and the run fails with `blocked at gate NAME`.
    public var openGates: [GateOpening]
    /// More runs of the same upstream script, each with its own settings and expectations (`runs:`), e.g. the same
    /// stall again with heartbeats on. The top-level sections are the first run.
    public var runs: [SpecRun]

    /// A spec with the given sections.
    public init(
        proxy: ProxySettingsSpec? = nil,
        request: ClientRequestSpec? = nil,
        profile: ProfileChoice? = nil,
        expect: Expectations? = nil,
        openGates: [GateOpening] = [],
        runs: [SpecRun] = []
    ) {
        self.proxy = proxy
        self.request = request
        self.profile = profile
        self.expect = expect
        self.openGates = openGates
        self.runs = runs
    }

    /// Every run the file asks for, in order: the top-level sections first (name `nil`), then each of `runs:`
    /// with what it inherits filled in: `request`, `profile` and `openGates` when it gives none, and the
    /// top-level `proxy:` settings key by key under its own. `expect` is never inherited: each run says what it
    /// must show. Each returned spec has no `runs` of its own.
    public var allRuns: [(name: String?, spec: ScenarioSpec)] {
        var first = self
        first.runs = []
        var all: [(name: String?, spec: ScenarioSpec)] = [(nil, first)]
        for run in runs {
            let spec = ScenarioSpec(
                proxy: ProxySettingsSpec.merged(run.proxy, over: proxy), request: run.request ?? request,
                profile: run.profile ?? profile, expect: run.expect, openGates: run.openGates ?? openGates)
            all.append((run.name, spec))
        }
        return all
    }
}

/// `proxy:`: the model's settings in the proxy config generated for the run.
public struct ProxySettingsSpec: Sendable, Hashable {
    /// Silence after which the proxy sends a heartbeat; `.zero` disables it; `nil` keeps the proxy's default.
    public var heartbeatInterval: Duration?
    /// The heartbeat's comment text (`keepalive` by default), which the client counts as heartbeats.
    public var heartbeatComment: String?
    /// llama-swap's loading messages as `reasoning_content` deltas while the model loads.
    public var sendLoadingState: Bool?
    /// Longest wait for the upstream's response head (`.zero` disables); `nil` keeps the proxy's default.
    public var responseHeaderTimeout: Duration?
    /// Longest silence between two upstream body reads once its head came (`.zero` disables).
    public var streamIdleTimeout: Duration?
    /// How long the proxy waits for `/health` to answer 200 before it gives up on the model (llama-swap's
    /// `healthCheckTimeout`); `nil` keeps the launcher's default (120 s).
    public var healthCheckTimeout: Duration?

    /// Settings as given; every field left `nil` keeps the proxy's default.
    public init(
        heartbeatInterval: Duration? = nil, heartbeatComment: String? = nil, sendLoadingState: Bool? = nil,
        responseHeaderTimeout: Duration? = nil, streamIdleTimeout: Duration? = nil,
        healthCheckTimeout: Duration? = nil
    ) {
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatComment = heartbeatComment
        self.sendLoadingState = sendLoadingState
        self.responseHeaderTimeout = responseHeaderTimeout
        self.streamIdleTimeout = streamIdleTimeout
        self.healthCheckTimeout = healthCheckTimeout
    }

    /// `settings` with every field it leaves `nil` taken from `base`; `nil` when both are.
    public static func merged(_ settings: ProxySettingsSpec?, over base: ProxySettingsSpec?) -> ProxySettingsSpec? {
        guard let settings else { return base }
        guard let base else { return settings }
        return ProxySettingsSpec(
            heartbeatInterval: settings.heartbeatInterval ?? base.heartbeatInterval,
            heartbeatComment: settings.heartbeatComment ?? base.heartbeatComment,
            sendLoadingState: settings.sendLoadingState ?? base.sendLoadingState,
            responseHeaderTimeout: settings.responseHeaderTimeout ?? base.responseHeaderTimeout,
            streamIdleTimeout: settings.streamIdleTimeout ?? base.streamIdleTimeout,
            healthCheckTimeout: settings.healthCheckTimeout ?? base.healthCheckTimeout)
    }

    /// Whether the proxy may add bytes the upstream never wrote (heartbeats or loading messages); expectations on
    /// such bytes can only be checked through the proxy.
    public var addsBytes: Bool {
        (heartbeatInterval.map { $0 > .zero } ?? false) || sendLoadingState == true
    }
}

/// `request:`: what the client sends.
public struct ClientRequestSpec: Sendable, Hashable {
    /// The method; `POST` by default.
    public var method: String
    /// The target, query string allowed; `/v1/chat/completions` by default.
    public var path: String
    /// Extra headers in order; the client adds `Host`, `Content-Length` and, for a body, `Content-Type` unless given.
    public var headers: [HeaderField]
    /// The body; `nil` means the default streaming chat request for the scenario's model.
    public var body: [UInt8]?

    /// A request; every default is the streaming chat completion.
    public init(
        method: String = "POST", path: String = "/v1/chat/completions", headers: [HeaderField] = [],
        body: [UInt8]? = nil
    ) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// The body sent when none is given: a short streaming chat completion for `model`.
    public static func defaultBody(model: String) -> [UInt8] {
        Array(
            "{\"model\":\(JSONText.quote(model)),\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"
                .utf8)
    }
}

/// `profile:`: a named client profile, or custom timeout rules.
public enum ProfileChoice: Sendable, Hashable {
    /// One of `ScenarioParser.Keys.profileNames` (`undici`, `openai-python`, …).
    case named(String)
    /// `{headers, idle, total, retries}`.
    case custom(CustomProfileSpec)
}

/// A custom client profile: each timer left `nil` is off.
public struct CustomProfileSpec: Sendable, Hashable {
    /// Time from sending the request until the response head is complete.
    public var headers: Duration?
    /// Longest silence between two reads, the wait for the first byte included.
    public var idle: Duration?
    /// Longest time for the whole attempt.
    public var total: Duration?
    /// How many times a timed-out request is sent again.
    public var retries: Int

    /// Custom rules; all timers off and no retry by default.
    public init(headers: Duration? = nil, idle: Duration? = nil, total: Duration? = nil, retries: Int = 0) {
        self.headers = headers
        self.idle = idle
        self.total = total
        self.retries = retries
    }
}

/// `expect:`: what the client must see (and the upstream, for `upstreamSawCloseWithin`). Each field left `nil` is
/// not checked.
public struct Expectations: Sendable, Hashable {
    /// How the client's exchange ends.
    public var client: ClientOutcomeKind?
    /// When the client gives up or completes, from its first request, in scenario time.
    public var at: Duration?
    /// Allowed error on `at` (scenario time; the runner adds its machine slack).
    public var tolerance: Duration?
    /// The status of the (last) response head the client received.
    public var status: Int?
    /// Bounds on the client's silences.
    public var gaps: GapExpectation?
    /// Bounds on the number of heartbeat comment lines the client received.
    public var heartbeats: CountExpectation?
    /// The client's body, without heartbeat lines, equals the upstream's body byte for byte.
    public var bodyMatchesUpstream: Bool?
    /// The client's body holds (`true`) or lacks (`false`) an in-band `data: {"error":…}` event.
    public var inBandError: Bool?
    /// After the client closed, the upstream saw its connection closed within this long. Real time, never
    /// scaled: it measures how fast a close propagates, not the script.
    public var upstreamSawCloseWithin: Duration?
    /// How many requests the client sent (retries included).
    public var attempts: Int?
    /// Heartbeat lines the client received inside an event (not between two events) that the upstream did not
    /// write there itself; `0` is the rule.
    public var heartbeatsInsideEvents: CountExpectation?
    /// How many requests with the client's method and path the upstream received (from the fake's journal): `0`
    /// proves that nothing was forwarded.
    public var upstreamRequests: CountExpectation?
    /// How many of those arrived before the upstream's `/health` first answered 200: `0` proves that the proxy
    /// waited for the model to be ready.
    public var upstreamRequestsBeforeHealthy: CountExpectation?
    /// Where `expect:` is written, for reports.
    public var location: SourceLocation?

    /// Expectations; every field left `nil` is not checked.
    public init(
        client: ClientOutcomeKind? = nil, at: Duration? = nil, tolerance: Duration? = nil, status: Int? = nil,
        gaps: GapExpectation? = nil, heartbeats: CountExpectation? = nil, bodyMatchesUpstream: Bool? = nil,
        inBandError: Bool? = nil, upstreamSawCloseWithin: Duration? = nil, attempts: Int? = nil,
        heartbeatsInsideEvents: CountExpectation? = nil, upstreamRequests: CountExpectation? = nil,
        upstreamRequestsBeforeHealthy: CountExpectation? = nil, location: SourceLocation? = nil
    ) {
        self.heartbeatsInsideEvents = heartbeatsInsideEvents
        self.upstreamRequests = upstreamRequests
        self.upstreamRequestsBeforeHealthy = upstreamRequestsBeforeHealthy
        self.client = client
        self.at = at
        self.tolerance = tolerance
        self.status = status
        self.gaps = gaps
        self.heartbeats = heartbeats
        self.bodyMatchesUpstream = bodyMatchesUpstream
        self.inBandError = inBandError
        self.upstreamSawCloseWithin = upstreamSawCloseWithin
        self.attempts = attempts
        self.location = location
    }
}

/// How a client's exchange ends.
public enum ClientOutcomeKind: String, Sendable, Hashable, CaseIterable {
    /// The whole response arrived (chunked terminator, full `Content-Length`, or EOF of a close-delimited body).
    case completes
    /// The client's profile gave up (after its retries).
    case timesOut = "times-out"
    /// The connection ended before a complete response (reset, or close mid-body) without a timeout.
    case fails
}

/// `gaps:`: bounds on silences the client saw.
public struct GapExpectation: Sendable, Hashable {
    /// No silence (from sending the request, between reads, to the end) is longer than this.
    public var max: Duration?
    /// Every heartbeat came at least this long after the byte before it (heartbeats never fire early).
    public var min: Duration?
    /// Allowed error on both (scenario time; the runner adds its machine slack).
    public var tolerance: Duration?

    /// Bounds; each left `nil` is not checked.
    public init(max: Duration? = nil, min: Duration? = nil, tolerance: Duration? = nil) {
        self.max = max
        self.min = min
        self.tolerance = tolerance
    }
}

/// A whole-number range, either bound optional (`heartbeats: 3` means exactly three).
public struct CountExpectation: Sendable, Hashable {
    /// At least this many.
    public var min: Int?
    /// At most this many.
    public var max: Int?

    /// A range; each bound left `nil` is open.
    public init(min: Int? = nil, max: Int? = nil) {
        self.min = min
        self.max = max
    }

    /// Whether `count` lies in the range.
    public func contains(_ count: Int) -> Bool {
        (min.map { count >= $0 } ?? true) && (max.map { count <= $0 } ?? true)
    }
}
