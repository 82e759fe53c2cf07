import Foundation

/// Everything the fake saw and did, as one value: what `GET /__harness/journal` returns and tests inspect.
///
/// Times are nanoseconds on the monotonic clock: connection and close times since the server started, write
/// offsets since the request's arrival, so a test can compare them with its plan directly.
public struct JournalSnapshot: Codable, Sendable, Hashable {
    /// Connections in the order they were accepted; `id` is the position plus one.
    public var connections: [ConnectionRecord]

    /// A journal holding `connections`, for tests and decoders.
    public init(connections: [ConnectionRecord] = []) {
        self.connections = connections
    }

    /// Every scenario request of every connection, in acceptance order then arrival order.
    public var requests: [RequestRecord] { connections.flatMap(\.requests) }

    /// The connection with this id, if it exists.
    public func connection(_ id: Int) -> ConnectionRecord? {
        connections.indices.contains(id - 1) ? connections[id - 1] : nil
    }
}

/// One accepted TCP connection.
public struct ConnectionRecord: Codable, Sendable, Hashable {
    /// 1, 2, 3… in order of acceptance; `JournalSnapshot.connection(_:)` looks it up.
    public var id: Int
    /// The peer's address as NIO prints it, e.g. `[IPv4]127.0.0.1/127.0.0.1:53122`.
    public var remoteAddress: String?
    /// When it was accepted, ns since the server started.
    public var acceptedAt: Int64
    /// Scenario requests received on it; harness endpoints (`/__harness/…`) are not recorded.
    public var requests: [RequestRecord]
    /// Bytes the fake has successfully written on it.
    public var bytesWritten: Int
    /// What the peer did to end the connection, if it did.
    public var peerClose: PeerClose?
    /// When the socket was closed (by either side), ns since the server started.
    public var closedAt: Int64?

    /// A connection just accepted: no requests, nothing written, still open.
    public init(id: Int, remoteAddress: String?, acceptedAt: Int64) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.acceptedAt = acceptedAt
        self.requests = []
        self.bytesWritten = 0
        self.peerClose = nil
        self.closedAt = nil
    }
}

/// One scenario request and how the fake answered it.
public struct RequestRecord: Codable, Sendable, Hashable {
    /// The request line's method, as sent.
    public var method: String
    /// The target without the query string.
    public var path: String
    /// The query string without `?`, if any.
    public var query: String?
    /// Headers in the order and case received, so tests can check what a proxy forwarded.
    public var headers: [JournalHeader]
    /// The whole (de-chunked) body.
    public var body: JournalBytes
    /// When its last byte arrived, ns since the server started.
    public var arrival: Int64
    /// The scenario that answered, as the responder reported it.
    public var scenario: String?
    /// The rule that answered (`default`, `unmatched`; `unanswered` after a hang or half-close).
    public var rule: String?
    /// The time scale applied to the plan, to relate offsets to the script's durations.
    public var timeScale: Double
    /// Every TCP write of the answer, in order.
    public var writes: [WriteRecord]
    /// Gates the answer waited on, with when each let it pass.
    public var gates: [GateRecord]
    /// How the fake ended the response; `nil` while it plays (or if it never started).
    public var end: EndRecord?

    /// A request just arrived, before any of its answer was played.
    public init(
        method: String,
        path: String,
        query: String?,
        headers: [JournalHeader],
        body: JournalBytes,
        arrival: Int64,
        scenario: String?,
        rule: String?,
        timeScale: Double
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.arrival = arrival
        self.scenario = scenario
        self.rule = rule
        self.timeScale = timeScale
        self.writes = []
        self.gates = []
        self.end = nil
    }
}

/// A request header, order and case as received.
public struct JournalHeader: Codable, Sendable, Hashable {
    /// The name as received (not lowercased).
    public var name: String
    /// The value as received.
    public var value: String

    /// A header as received.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One flushed TCP write.
public struct WriteRecord: Codable, Sendable, Hashable {
    /// When it was written, ns since the request's arrival.
    public var offset: Int64
    /// When the plan said to write it, ns since the request's arrival; `offset - scheduled` is the lateness.
    public var scheduled: Int64
    /// How many bytes went into this write (also in JSON, where `bytes` may be base64).
    public var byteCount: Int
    /// The bytes written.
    public var bytes: JournalBytes

    /// A write of `bytes`, planned at `scheduled` and made at `offset`.
    public init(offset: Int64, scheduled: Int64, bytes: [UInt8]) {
        self.offset = offset
        self.scheduled = scheduled
        self.byteCount = bytes.count
        self.bytes = JournalBytes(bytes)
    }
}

/// A gate passed by a response.
public struct GateRecord: Codable, Sendable, Hashable {
    /// The gate's name, as given to `releaseGate` or `POST /__harness/gates/NAME`.
    public var name: String
    /// When the response went on (the release, or reaching an already released gate), ns since the arrival.
    public var passedAt: Int64

    /// A gate passed at `passedAt`.
    public init(name: String, passedAt: Int64) {
        self.name = name
        self.passedAt = passedAt
    }
}

/// How the fake ended a response.
public struct EndRecord: Codable, Sendable, Hashable {
    /// The plan's ending: `clean`, `close`, `fin`, `rst`, `half-close` or `hang`.
    public var kind: String
    /// When, ns since the request's arrival.
    public var offset: Int64

    /// An ending of `kind` at `offset`.
    public init(kind: String, offset: Int64) {
        self.kind = kind
        self.offset = offset
    }
}

/// What the peer did to its end of the connection.
public struct PeerClose: Codable, Sendable, Hashable {
    /// How the close was seen.
    public enum Kind: String, Codable, Sendable, Hashable {
        /// An orderly FIN (the fake read EOF).
        case fin
        /// A reset (ECONNRESET or EPIPE).
        case reset
    }

    /// FIN or reset.
    public var kind: Kind
    /// When, ns since the server started.
    public var at: Int64
    /// When, ns since the arrival of the connection's latest request (`nil` if none arrived).
    public var sinceRequestArrival: Int64?
    /// Bytes the fake had written on the connection by then.
    public var bytesWritten: Int

    /// A peer close seen at `at`.
    public init(kind: Kind, at: Int64, sinceRequestArrival: Int64?, bytesWritten: Int) {
        self.kind = kind
        self.at = at
        self.sinceRequestArrival = sinceRequestArrival
        self.bytesWritten = bytesWritten
    }
}

/// Bytes in the journal. In JSON: `{"text": …}` when they are valid UTF-8 (readable), else `{"base64": …}`.
public struct JournalBytes: Codable, Sendable, Hashable {
    /// The raw bytes; JSON chooses text or base64 from them.
    public var bytes: [UInt8]

    /// Wraps raw bytes.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The bytes as text, if they are valid UTF-8.
    public var text: String? { String(validating: bytes, as: UTF8.self) }

    private enum CodingKeys: String, CodingKey {
        case text, base64
    }

    /// Reads `{"text": …}` or `{"base64": …}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try container.decodeIfPresent(String.self, forKey: .text) {
            self.bytes = Array(text.utf8)
        } else {
            let encoded = try container.decode(String.self, forKey: .base64)
            guard let data = Data(base64Encoded: encoded) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .base64, in: container, debugDescription: "not valid base64")
            }
            self.bytes = Array(data)
        }
    }

    /// Writes `{"text": …}` for valid UTF-8, else `{"base64": …}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let text {
            try container.encode(text, forKey: .text)
        } else {
            try container.encode(Data(bytes).base64EncodedString(), forKey: .base64)
        }
    }
}
