
/// A response script turned into exact TCP writes at exact times: what the connection's executor performs.
///
/// Offsets are relative to an epoch: the request's arrival, or the release of the last `gate` passed. Everything
/// that can be computed ahead (framing, chunk headers, SSE encoding, token chunks, time scaling, jitter) is already
/// in here, so the executor only waits, writes, and closes.
public struct ResponsePlan: Sendable, Hashable {
    public var actions: [TimedAction]

    public init(actions: [TimedAction]) {
        self.actions = actions
    }
}

/// One action of a plan and when it happens.
public struct TimedAction: Sendable, Hashable {
    /// Offset from the current epoch (request arrival, or the last gate's release), already scaled.
    public var at: Duration
    public var action: PlannedAction

    public init(at: Duration, _ action: PlannedAction) {
        self.at = at
        self.action = action
    }
}

/// What the executor does at a planned time.
public enum PlannedAction: Sendable, Hashable {
    /// One flushed TCP write of exactly these bytes (framing included).
    case write([UInt8])
    /// Wait until the named gate is released; later offsets count from the release.
    case gate(String)
    /// End the response (and maybe the connection); always the last action.
    case end(Ending)
}

/// What the player knows about the request it answers.
public struct RequestContext: Sendable, Hashable {
    public var method: String
    /// Path without the query string.
    public var path: String
    /// Query string without `?`, if any.
    public var query: String?
    public var headers: [HeaderField]
    public var body: [UInt8]
    /// The JSON body's `model` field, if the body is a JSON object that has one.
    public var model: String?
    /// The JSON body's `stream` field; absent or not JSON counts as `false`.
    public var stream: Bool

    public init(
        method: String,
        path: String,
        query: String? = nil,
        headers: [HeaderField] = [],
        body: [UInt8] = [],
        model: String? = nil,
        stream: Bool = false
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.model = model
        self.stream = stream
    }
}
