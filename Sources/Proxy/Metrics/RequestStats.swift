import NIOCore
import NIOHTTP1
import SeededRandom
import Synchronization

/// What one request did, filled on its connection's event loop as its response is written (``ProxyConnectionHandler``
/// is the single writer, so every byte passes one place), and reported once at its end to ``ProxyMetrics`` and the
/// access log (``AccessLog``). A plain value: no locks, no allocation per byte.
struct RequestStats {
    /// `X-Request-Id` from the client, or a generated one; sent upstream and echoed on the response.
    var id: String
    /// The route's label (``ProxyRoute/metricsLabel(path:)``).
    var route: String
    /// When the request's head arrived, on the event loop's clock.
    var arrival: NIODeadline
    /// The model as the client named it, once the request is relayed (`nil`: answered by the proxy itself).
    var model: String?
    /// The request went to an upstream (its in-flight gauge was raised).
    var relayed = false
    /// The response's status, once its head was written.
    var status: Int?
    /// Response body bytes written, heartbeats included.
    var bytesSent = 0
    /// From arrival to the first byte written to the client (the response head).
    var timeToFirstByte: Duration?
    /// From arrival to the end (set when reported).
    var duration: Duration = .zero
    /// The response's end was written (a close after it is the proxy's, not the client leaving).
    var responseEnded = false
    /// The client closed the connection before the response ended.
    var clientGoneEarly = false
    /// What the heartbeat policy did (relayed requests only).
    var heartbeats: HeartbeatStats?
    /// The live record the activity endpoints show (relayed requests only).
    var activity: LiveRequest?
    /// The last bytes of the upstream's body, read for tokens when it ends.
    var upstreamTail = TokenTail()
    /// Tokens and speeds from the upstream's `timings`/`usage`, once its body ended.
    var tokens: TokenCounts?

    init(head: HTTPRequestHead, arrival: NIODeadline) {
        self.id = Self.requestID(from: head.headers)
        self.arrival = arrival
        let path = head.uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(head.uri[..<$0]) } ?? head.uri
        self.route = ProxyRoute.metricsLabel(method: head.method, path: path)
    }

    /// The client's `X-Request-Id` when it is a sane token (1–128 visible ASCII characters), else a new random id.
    static func requestID(from headers: HTTPHeaders) -> String {
        if let given = headers.first(name: "x-request-id"), !given.isEmpty, given.utf8.count <= 128,
            given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        {
            return given
        }
        return generatedID()
    }

    /// 16 hex digits: the next value of a SplitMix64 sequence whose seed is drawn once per process (the system's
    /// generator cost a `getrandom` call per request). SplitMix64 maps its counter one to one, so no two ids of one
    /// process are equal; ids only need to be unique and unguessable enough to tell requests apart, not secret.
    static func generatedID() -> String {
        let count = idCounter.wrappingAdd(1, ordering: .relaxed).oldValue
        var generator = SplitMix64(seed: idSeed &+ count &* 0x9E37_79B9_7F4A_7C15)
        let value = generator.next()
        return String(unsafeUninitializedCapacity: 16) { buffer in
            for index in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: value >> (60 - 4 * index)) & 0xF
                buffer[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            }
            return 16
        }
    }

    private static let idSeed = UInt64.random(in: .min ... .max)
    private static let idCounter = Atomic<UInt64>(0)

    /// Time since arrival at `now`.
    func elapsed(at now: NIODeadline) -> Duration {
        .nanoseconds(Int64(now.uptimeNanoseconds) - Int64(arrival.uptimeNanoseconds))
    }

    /// A response part is being written at `now`.
    mutating func wrote(_ part: HTTPServerResponsePart, at now: NIODeadline) {
        switch part {
        case .head(let head):
            if status == nil { status = Int(head.status.code) }
            if timeToFirstByte == nil { timeToFirstByte = elapsed(at: now) }
        case .body(let data):
            bytesSent += data.readableBytes
        case .end:
            responseEnded = true
        }
    }
}

extension ProxyRoute {
    /// A bounded label for a request's route (metrics and the access log): the inference path as llama-swap routes
    /// it, `/v1/audio/*`, `/upstream/*`, an admin path, or `other` for anything unrouted.
    static func metricsLabel(method: HTTPMethod, path: String) -> String {
        if modelPaths.contains(path) { return path }
        // The pass-through prefix first: it is the busiest after the model paths (no other label starts with it).
        if path.hasPrefix("/upstream/") { return "/upstream/*" }
        if let bounded = ActivityEndpoint.metricsLabel(path: path) { return bounded }
        if path.hasPrefix("/v1/audio/") { return "/v1/audio/*" }
        switch classify(method: method, path: path, query: nil) {
        case .notFound: return "other"
        default: return path
        }
    }
}
