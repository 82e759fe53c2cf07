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
    /// What must happen; `nil` means the run only reports.
    public var expect: Expectations?

    /// A spec with the given sections.
    public init(
        proxy: ProxySettingsSpec? = nil,
        request: ClientRequestSpec? = nil,
        profile: ProfileChoice? = nil,
        expect: Expectations? = nil
    ) {
        self.proxy = proxy
        self.request = request
        self.profile = profile
        self.expect = expect
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

    /// Settings as given; every field left `nil` keeps the proxy's default.
    public init(heartbeatInterval: Duration? = nil, heartbeatComment: String? = nil, sendLoadingState: Bool? = nil) {
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatComment = heartbeatComment
        self.sendLoadingState = sendLoadingState
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
    /// Where `expect:` is written, for reports.
    public var location: SourceLocation?

    /// Expectations; every field left `nil` is not checked.
    public init(
        client: ClientOutcomeKind? = nil, at: Duration? = nil, tolerance: Duration? = nil, status: Int? = nil,
        gaps: GapExpectation? = nil, heartbeats: CountExpectation? = nil, bodyMatchesUpstream: Bool? = nil,
        inBandError: Bool? = nil, upstreamSawCloseWithin: Duration? = nil, attempts: Int? = nil,
        location: SourceLocation? = nil
    ) {
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
