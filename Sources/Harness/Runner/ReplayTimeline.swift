/// Everything a run saw, on one time axis: offsets from the client's first request. What the report draws and the
/// text timeline prints.
public struct ReplayTimeline: Sendable, Hashable {
    /// A read by the client.
    public struct ClientRead: Sendable, Hashable {
        /// When.
        public var at: Duration
        /// Bytes read.
        public var byteCount: Int
        /// Heartbeats completed by this read.
        public var heartbeats: Int
        /// The response head became complete with this read.
        public var completedHead: Bool
        /// Which attempt (0 for the first request).
        public var attempt: Int
        /// The start of the bytes, printable, for the text timeline.
        public var preview: String
    }

    /// A TCP write by the fake upstream (from its journal).
    public struct UpstreamWrite: Sendable, Hashable {
        /// When.
        public var at: Duration
        /// Bytes written.
        public var byteCount: Int
        /// Which attempt's request it answered, if known.
        public var attempt: Int?
        /// The start of the bytes, printable.
        public var preview: String
    }

    /// One request of the client, from sending to its end.
    public struct Attempt: Sendable, Hashable {
        /// When the request was sent.
        public var start: Duration
        /// When it ended.
        public var end: Duration
        /// How (`completes`, `times out (headers)`, `closed by the server`…).
        public var ending: String
        /// The profile deadline pending at the end (absolute on this axis), and whether it fired.
        public var deadline: Duration?
        /// The rule of that deadline.
        public var deadlineRule: TimeoutRule?
        /// Whether the deadline fired (the client gave up).
        public var timedOut: Bool
    }

    /// Client reads, in order.
    public var clientReads: [ClientRead]
    /// Upstream writes, in order.
    public var upstreamWrites: [UpstreamWrite]
    /// The client's requests.
    public var attempts: [Attempt]
    /// When the upstream saw a connection end, per attempt it saw.
    public var upstreamCloses: [Duration]

    /// A timeline.
    public init(clientReads: [ClientRead], upstreamWrites: [UpstreamWrite], attempts: [Attempt], upstreamCloses: [Duration]) {
        self.clientReads = clientReads
        self.upstreamWrites = upstreamWrites
        self.attempts = attempts
        self.upstreamCloses = upstreamCloses
    }

    /// The last moment anything happened.
    public var end: Duration {
        ([attempts.map(\.end).max(), clientReads.last?.at, upstreamWrites.map(\.at).max(), upstreamCloses.max()]
            .compactMap { $0 } + [Duration.zero]).max()!
    }

    /// Times of heartbeats (one entry per heartbeat).
    public var heartbeatTimes: [Duration] {
        clientReads.flatMap { read in Array(repeating: read.at, count: read.heartbeats) }
    }
}
