/// The rules for reusing upstream connections, as values with no IO and no clock: the relay and the pool report what
/// happened (times as `Duration` on any monotonic clock) and do what these values answer. Every rule is testable
/// with plain numbers; ``UpstreamPool`` and ``RequestRelay`` only carry them out.
///
/// Why the rules are this strict: llama-server (cpp-httplib) closes the connection after every streamed response
/// while its head advertises `Keep-Alive: timeout=5, max=100`, and closes idle connections after 5 s. A pool that
/// believes the header hands out dead sockets, and the next request fails (nginx with an upstream keepalive pool
/// answered 502 to 244 of 1,422 streamed requests). A request that may have started work upstream (a prefill of
/// minutes) must never be sent twice.
///
/// Rules (performance issue, item 1):
/// - **Reuse** a connection only after an exchange that ended cleanly on both sides: the whole request was written,
///   the upstream's answer ended by its own framing (`Content-Length` or chunked, or a status without a body), and
///   nothing closed it. Never after an event stream (`text/event-stream`: llama-server closes after every stream),
///   after `Connection: close` (either side), after an HTTP/1.0 answer without `Connection: keep-alive`, after
///   `Keep-Alive: timeout=0` or once the advertised `max` requests were served, after an answer whose body did not
///   finish (the client left, a time bound closed it, a wrong length), after an upgrade or an interim-only answer.
/// - **Idle expiry**: an idle connection is closed before the upstream would close it: at its advertised
///   `Keep-Alive: timeout=T` minus a margin (1 s, or half of `T` when `T` is 2 s or less), at most
///   ``UpstreamIdleExpiry/maximum``; without `timeout=`, after ``UpstreamIdleExpiry/default`` (shorter than the 5 s
///   of llama-server and uvicorn, which do not always say so). A connection past its expiry is never handed out,
///   even if its timer has not run yet.
/// - **Closed while idle**: a pooled connection that the upstream closes (or writes to) while idle leaves the pool
///   at once and is never handed out.
/// - **Trust**: some servers close right after a complete answer that advertised keep-alive; their FIN can arrive
///   after the next request was written on the connection (on loopback under load, milliseconds later), and that
///   request may not be retried (below). So an upstream's connections are handed out again only once it has shown
///   that it keeps them: a released connection waits ``UpstreamIdleSet/probation`` (100 ms) before it can be
///   handed out, until one of the upstream's connections has survived that wait; from then on released connections
///   are available at once. An upstream that closes a pooled connection before its expiry is not pooled for
///   ``UpstreamIdleSet/distrust`` (60 s): its connections are closed at release.
/// - **Retry**: a request is sent again, once, on a fresh (never pooled) connection only when it went out on a
///   reused connection that failed before any byte of the response arrived, and either the request was not fully
///   written (the upstream cannot have acted on it) or the connection was found closed before the request was
///   written (closed while idle). A request that was fully written is never sent again, whatever happens next: the
///   upstream may have started work. A fresh connection is never retried (a refused or broken new connection is
///   the upstream's real answer).
public enum UpstreamPoolRules {}

/// What a response head says about keeping its connection.
public struct UpstreamKeepAlive: Sendable, Hashable {
    /// `Connection: close` on the answer, or an HTTP/1.0 answer without `Connection: keep-alive`.
    public var close: Bool
    /// `Keep-Alive: timeout=N` (seconds), if given.
    public var timeout: Duration?
    /// `Keep-Alive: max=N` (requests on this connection), if given.
    public var max: Int?

    public init(close: Bool = false, timeout: Duration? = nil, max: Int? = nil) {
        self.close = close
        self.timeout = timeout
        self.max = max
    }

    /// Reads `Connection` and `Keep-Alive` values (every field of each, comma separated, case-insensitive).
    /// `versionMajor`/`versionMinor` are the answer's HTTP version. Scans bytes: it runs on every pooled answer.
    public init(versionMajor: Int, versionMinor: Int, connection: [String], keepAlive: [String]) {
        var sawClose = false
        var sawKeepAlive = false
        for value in connection {
            Self.forEachField(value) { field in
                if HTTPFieldBytes.equalsIgnoringCase(field, "close") { sawClose = true }
                if HTTPFieldBytes.equalsIgnoringCase(field, "keep-alive") { sawKeepAlive = true }
            }
        }
        let http10 = versionMajor == 1 && versionMinor == 0
        self.close = sawClose || (http10 && !sawKeepAlive) || versionMajor < 1
        for value in keepAlive {
            Self.forEachField(value) { field in
                guard let equals = field.firstIndex(of: UInt8(ascii: "=")) else { return }
                let name = HTTPFieldBytes.trimmed(field[..<equals])
                let number = HTTPFieldBytes.trimmed(field[(equals + 1)...])
                guard !number.isEmpty, number.count <= 9, number.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return }
                let parsed = number.reduce(0) { $0 * 10 + Int($1 - 48) }
                if HTTPFieldBytes.equalsIgnoringCase(name, "timeout") { timeout = .seconds(parsed) }
                if HTTPFieldBytes.equalsIgnoringCase(name, "max") { max = parsed }
            }
        }
    }

    /// Each comma-separated field of `value`, trimmed, read in place from the string's UTF-8 (no copy).
    private static func forEachField(_ value: String, _ body: (Slice<UnsafeBufferPointer<UInt8>>) -> Void) {
        var value = value
        value.withUTF8 { bytes in
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: ",") {
                body(HTTPFieldBytes.trimmed(bytes[start..<index]))
                start = index + 1
            }
        }
    }
}

/// How long an idle connection may wait in the pool.
public enum UpstreamIdleExpiry {
    /// Without `Keep-Alive: timeout=`: well under the 5 s idle timeout of llama-server (cpp-httplib) and uvicorn.
    public static let `default` = Duration.seconds(2)
    /// However long the upstream says it keeps connections.
    public static let maximum = Duration.seconds(60)

    /// How long after its release a connection that last answered with `keepAlive` may be handed out; `nil`: never
    /// (`timeout=0`, or so short that no margin fits).
    public static func idleLimit(for keepAlive: UpstreamKeepAlive) -> Duration? {
        guard let advertised = keepAlive.timeout else { return Self.default }
        guard advertised > .zero else { return nil }
        let margin = advertised <= .seconds(2) ? advertised / 2 : .seconds(1)
        return min(advertised - margin, maximum)
    }
}

/// One request's exchange on one upstream connection: decides whether the connection may be pooled afterwards and
/// whether a failure may be retried. The relay reports each event in order.
public struct UpstreamExchange: Sendable {
    /// What to do with the connection once the request is over.
    public enum Verdict: Sendable, Hashable {
        /// Back to the pool; hand out for at most `idleFor` after the release.
        case reuse(idleFor: Duration)
        /// Close it, for this reason (for the debug log and the tests).
        case close(CloseReason)
    }

    /// What to do with the connection, with pooling held to at most `limit` of idleness (llama-swap's
    /// `timeouts.idleConn`; `nil` adds no cap): the shorter of the two expiries wins.
    public static func capped(_ verdict: Verdict, idleAtMost limit: Duration?) -> Verdict {
        guard case .reuse(let idle) = verdict, let limit else { return verdict }
        return .reuse(idleFor: min(idle, limit))
    }

    public enum CloseReason: Sendable, Hashable {
        case eventStream, connectionClose, keepAliveExhausted, bodyUnfinished, requestUnwritten, closed, noFraming
        case upgrade
    }

    /// What to do after the connection failed.
    public enum FailureDecision: Sendable, Hashable {
        /// Send the request again on a new connection (never pooled); at most once per request.
        case retryOnFreshConnection
        /// Report the failure to the client as usual.
        case fail
    }

    /// The connection came from the pool (it served an earlier request).
    public let reused: Bool
    /// Requests this connection served before this one.
    public let earlierRequests: Int
    public private(set) var requestFullyWritten = false
    public private(set) var responseBytesSeen = false
    public private(set) var responseEnded = false
    public private(set) var connectionClosed = false
    private var eventStream = false
    private var keepAlive = UpstreamKeepAlive()
    private var framed = false
    private var upgraded = false
    private var requestAskedClose = false

    public init(reused: Bool, earlierRequests: Int = 0, requestAskedClose: Bool = false) {
        self.reused = reused
        self.earlierRequests = earlierRequests
        self.requestAskedClose = requestAskedClose
    }

    /// The request's last byte was handed to the connection (the write of its end succeeded).
    public mutating func requestWritten() { requestFullyWritten = true }

    /// A final (non-1xx) response head arrived. `framed`: the body's end is marked by `Content-Length` or chunked
    /// transfer coding, or the status has no body (204, 304); an answer delimited by the close is not.
    public mutating func headArrived(status: Int, contentType: String?, keepAlive: UpstreamKeepAlive, framed: Bool) {
        responseBytesSeen = true
        self.keepAlive = keepAlive
        self.framed = framed
        if status == 101 { upgraded = true }
        if let contentType, HTTPFieldBytes.hasPrefixIgnoringCase(contentType, "text/event-stream") {
            eventStream = true
        }
    }

    /// Any byte of the response arrived (an interim `1xx` head counts: the upstream has the request).
    public mutating func responseBytesArrived() { responseBytesSeen = true }

    /// The answer's end arrived, by its own framing.
    public mutating func ended() { responseEnded = true }

    /// The connection closed, failed, or was closed by the proxy (a time bound, the client leaving).
    public mutating func closed() { connectionClosed = true }

    /// The connection failed (closed, reset, write error) while this request used it.
    public mutating func failed() -> FailureDecision {
        connectionClosed = true
        guard reused, !responseBytesSeen, !requestFullyWritten else { return .fail }
        return .retryOnFreshConnection
    }

    /// The request is over: pool or close.
    public var verdict: Verdict {
        if connectionClosed { return .close(.closed) }
        if !requestFullyWritten { return .close(.requestUnwritten) }
        if !responseEnded { return .close(.bodyUnfinished) }
        if upgraded { return .close(.upgrade) }
        if eventStream { return .close(.eventStream) }
        if keepAlive.close || requestAskedClose { return .close(.connectionClose) }
        if !framed { return .close(.noFraming) }
        if let max = keepAlive.max, earlierRequests + 1 >= max { return .close(.keepAliveExhausted) }
        guard let idle = UpstreamIdleExpiry.idleLimit(for: keepAlive) else { return .close(.keepAliveExhausted) }
        return .reuse(idleFor: idle)
    }
}

/// The idle connections of one pool, keyed by upstream (model and address), with their expiry: a value, so the
/// hand-out and expiry rules are asserted with plain times. `Connection` is the pool's handle (a channel in
/// production, a number in tests).
public struct UpstreamIdleSet<Key: Hashable & Sendable, Connection: Sendable & Equatable>: Sendable {
    public struct Entry: Sendable {
        public var connection: Connection
        public var expiresAt: Duration
        public var requestsServed: Int
        /// Not handed out before (probation while the upstream has not shown that it keeps connections).
        public var availableAt: Duration
    }

    /// How long a released connection must stay open before an untrusted upstream's connection is handed out.
    public static var probation: Duration { .milliseconds(100) }
    /// How long an upstream that closed a pooled connection early is not pooled.
    public static var distrust: Duration { .seconds(60) }

    /// Keys whose upstream kept a connection open through its probation.
    private var trusted: Swift.Set<Key> = []
    /// Keys whose upstream closed a pooled connection before its expiry, until when they are not pooled.
    private var distrustedUntil: [Key: Duration] = [:]

    /// Most recently released last (handed out first: the warmest socket, the others expire).
    private var idle: [Key: [Entry]] = [:]
    /// At most this many idle connections per key; a release beyond it closes the connection.
    public let maxIdlePerKey: Int

    public init(maxIdlePerKey: Int = 64) {
        self.maxIdlePerKey = maxIdlePerKey
    }

    public var count: Int { idle.values.reduce(0) { $0 + $1.count } }

    public func count(for key: Key) -> Int { idle[key]?.count ?? 0 }

    /// Whether `key`'s upstream has shown that it keeps connections.
    public func isTrusted(_ key: Key) -> Bool { trusted.contains(key) }

    /// A connection that finished a request with verdict `.reuse(idleFor:)` at `now`. Returns `false` when it must
    /// be closed instead (the key's idle list is full, or its upstream is distrusted).
    public mutating func release(
        _ connection: Connection, key: Key, requestsServed: Int, idleFor: Duration, now: Duration
    ) -> Bool {
        if !distrustedUntil.isEmpty, let until = distrustedUntil[key] {
            guard now >= until else { return false }
            distrustedUntil[key] = nil
        }
        let availableAt = trusted.contains(key) ? now : now + Self.probation
        let entry = Entry(
            connection: connection, expiresAt: now + idleFor, requestsServed: requestsServed, availableAt: availableAt)
        // One lookup of the key (it hashes a model name and a URL), and the list appended in place (a copy taken
        // out of the dictionary and stored back would copy the list each time).
        guard let slot = idle.index(forKey: key) else {
            guard maxIdlePerKey > 0 else { return false }
            idle[key] = [entry]
            return true
        }
        guard idle.values[slot].count < maxIdlePerKey else { return false }
        idle.values[slot].append(entry)
        return true
    }

    /// The most recently released connection for `key` that has not expired at `now`, removed from the set, and
    /// every expired one for `key` (to be closed). A connection is expired from its `expiresAt` on.
    /// A connection still on probation at `now` is not handed out; one past its probation makes the key trusted.
    public mutating func take(key: Key, now: Duration) -> (entry: Entry?, expired: [Connection]) {
        // One lookup of the key, then the list changed in place through its index (no copy of the list, no
        // hashing of the key per step).
        guard let slot = idle.index(forKey: key) else { return (nil, []) }
        var expired: [Connection] = []
        if idle.values[slot].contains(where: { $0.expiresAt <= now }) {
            expired = idle.values[slot].filter { $0.expiresAt <= now }.map(\.connection)
            idle.values[slot].removeAll { $0.expiresAt <= now }
        }
        var entry: Entry?
        if let index = idle.values[slot].lastIndex(where: { $0.availableAt <= now }) {
            entry = idle.values[slot].remove(at: index)
            if !trusted.contains(key) { trusted.insert(key) }
        }
        if idle.values[slot].isEmpty { idle.remove(at: slot) }
        return (entry, expired)
    }

    /// The upstream closed (or wrote to) the connection while idle, at `now`: it leaves the set, and its upstream
    /// is distrusted (not pooled for ``distrust``). Returns whether it was there.
    @discardableResult
    public mutating func remove(_ connection: Connection, key: Key, now: Duration) -> Bool {
        trusted.remove(key)
        distrustedUntil[key] = now + Self.distrust
        guard var list = idle[key], let index = list.firstIndex(where: { $0.connection == connection }) else {
            return false
        }
        list.remove(at: index)
        idle[key] = list.isEmpty ? nil : list
        return true
    }

    /// Every connection expired at `now` (any key), removed from the set, to be closed.
    public mutating func expire(now: Duration) -> [Connection] {
        var expired: [Connection] = []
        for (key, list) in idle {
            let gone = list.filter { $0.expiresAt <= now }
            guard !gone.isEmpty else { continue }
            expired += gone.map(\.connection)
            let kept = list.filter { $0.expiresAt > now }
            idle[key] = kept.isEmpty ? nil : kept
        }
        return expired
    }

    /// Every idle connection whose key matches, removed (a model stopped: its port may serve another model next).
    public mutating func drop(where matches: (Key) -> Bool) -> [Connection] {
        var dropped: [Connection] = []
        for key in idle.keys where matches(key) {
            dropped += idle[key]!.map(\.connection)
            idle[key] = nil
        }
        return dropped
    }

    /// The earliest expiry of any idle connection (when the pool's timer should run next).
    public var nextExpiry: Duration? {
        idle.values.flatMap { $0.map(\.expiresAt) }.min()
    }
}
