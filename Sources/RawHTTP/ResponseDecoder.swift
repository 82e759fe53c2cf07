import NIOCore
import NIOEmbedded
import NIOHTTP1

/// A final response head: what NIO's decoder parsed, and the bytes it came in, exactly as read.
public struct DecodedHead: Sendable, Hashable {
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: HTTPVersion
    /// The status code.
    public var status: Int
    /// The reason phrase as written (may be empty). NIO's decoder drops it; it is read off the raw status line.
    public var reason: String
    /// Header fields in order, names as written, values without surrounding whitespace.
    public var headers: HTTPHeaders
    /// The head's bytes from the status line through the blank line, as read (interim 1xx heads not included).
    public var raw: [UInt8]

    /// The first value of `name` (case-insensitive).
    public func value(_ name: String) -> String? { headers.first(name: name) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(raw)
    }
}

/// How a response's body is delimited, as its head and the request's method say.
public enum BodyFraming: Sendable, Hashable {
    /// No body: a response to `HEAD`, or a 204 or 304.
    case none
    /// `Content-Length`.
    case contentLength(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
    /// Neither: the body ends when the connection does.
    case untilClose
}

/// How a response ended.
public enum ResponseEnd: Sendable, Hashable {
    /// The body ended as its framing says (for `untilClose`, by the connection's end).
    case complete
    /// The connection ended before that: no head, a short `Content-Length` body, or a chunked body without its
    /// last chunk.
    case closedEarly
    /// NIO's decoder rejected the bytes; the text says why.
    case malformed(String)
}

/// The one HTTP/1 response decoder: NIO's `HTTPResponseDecoder`, fed through a byte tap, so that callers that keep
/// the raw reads (the harness compares bytes and gaps) also learn, per read, what it carried: whether the head
/// became complete, which body bytes (de-framed), and whether the response ended.
///
/// Feed the bytes as they were read, split anywhere; call ``connectionClosed()`` when the connection ends. It never
/// traps on bad input: rejected bytes end the response as ``ResponseEnd/malformed(_:)``. Bytes after the end of
/// the response are not decoded. Not thread-safe: one decoder is fed from one thread (an event loop, or one
/// synchronous pass over recorded reads), because NIO's decoder runs in an `EmbeddedChannel`, which is bound to the
/// thread that made it. So the channel is made at the first feed, on the feeding thread (a decoder may be created
/// elsewhere, e.g. with the handler that an event loop will feed), and closed as soon as the response ends, or by
/// ``close()`` on the feeding thread; a decoder dropped unfinished just lets go of it.
public final class ResponseDecoder {
    /// What one ``feed(_:)`` or ``connectionClosed()`` changed.
    public struct Step: Sendable, Hashable {
        /// The final (non-1xx) head became complete.
        public var completedHead = false
        /// How many of the bytes fed belong to the head (the rest are body or later), when `completedHead`.
        public var headBytes = 0
        /// Body bytes decoded, chunk framing removed.
        public var body: [UInt8] = []
        /// The response ended (see ``ResponseDecoder/end``).
        public var ended = false

        public init() {}
    }

    /// The final response head, once complete.
    public private(set) var head: DecodedHead?
    /// How the body is delimited, once the head is complete.
    public private(set) var framing: BodyFraming?
    /// Every body byte so far, de-framed.
    public private(set) var body: [UInt8] = []
    /// How the response ended, once it did.
    public private(set) var end: ResponseEnd?
    /// Bytes fed so far (including any after the end).
    public private(set) var consumed = 0

    /// The response ended as its framing says.
    public var isComplete: Bool { end == .complete }
    /// Why decoding stopped, when NIO's decoder rejected the bytes.
    public var problem: String? {
        if case .malformed(let reason) = end { return reason }
        return nil
    }

    private let requestMethod: HTTPMethod
    /// NIO's decoder in its pipeline: made at the first feed, `nil` again once closed (released right there, on the
    /// feeding thread).
    private var channel: EmbeddedChannel?
    private var closed = false
    private let collector: PartCollector
    private var pendingHead: [UInt8] = []

    /// A decoder for the response to a request with `requestMethod` (a `HEAD` response has no body).
    public init(requestMethod: String = "GET") {
        self.requestMethod = HTTPMethod(rawValue: requestMethod.uppercased())
        self.collector = PartCollector()
    }

    /// The pipeline, made on the calling (feeding) thread the first time; `nil` after ``close()``.
    private func liveChannel() -> EmbeddedChannel? {
        if let channel { return channel }
        guard !closed else { return nil }
        let channel = EmbeddedChannel(handlers: [
            ByteToMessageHandler(HTTPResponseDecoder(informationalResponseStrategy: .forward)), collector,
        ])
        // NIO's response decoder pairs each response with a request it saw go out (for HEAD and CONNECT).
        let head = HTTPRequestHead(version: .http1_1, method: requestMethod, uri: "/")
        _ = try? channel.writeOutbound(HTTPClientRequestPart.head(head))
        _ = try? channel.readOutbound(as: HTTPClientRequestPart.self)
        self.channel = channel
        return channel
    }

    /// Releases NIO's pipeline (the decoder keeps what it decoded, and decodes nothing more); closing twice is
    /// fine. Call it on the thread that feeds the decoder.
    public func close() {
        closed = true
        guard let channel else { return }
        self.channel = nil
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    /// Feeds the next bytes received.
    @discardableResult
    public func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Step {
        consumed += bytes.count
        var step = Step()
        guard end == nil, !closed else { return step }
        var rest = bytes[...]
        // Until the head is complete, feed up to each line end: the head can only end there, so the byte count of
        // the head (and where the body starts) is exact.
        while head == nil, end == nil, !rest.isEmpty {
            let lineEnd = rest.firstIndex(of: UInt8(ascii: "\n")).map { rest.index(after: $0) } ?? rest.endIndex
            let line = rest[..<lineEnd]
            rest = rest[lineEnd...]
            pendingHead += line
            deliver(line, into: &step)
            if head != nil { step.headBytes = bytes.count - rest.count }
        }
        if end == nil, !rest.isEmpty { deliver(rest, into: &step) }
        return step
    }

    /// The connection ended: a close-delimited body is complete now; anything else unfinished ended early.
    @discardableResult
    public func connectionClosed() -> Step {
        var step = Step()
        guard end == nil else { return step }
        // Closing feeds NIO's decoder the EOF: a close-delimited body ends, a cut one fails.
        close()
        drain(into: &step)
        // NIO reports a head or body cut short by the close as an error (its EOF state); to callers that is an
        // early close, not bad bytes.
        if end == nil || end != .complete { finish(.closedEarly, step: &step) }
        return step
    }

    private func deliver<Bytes: Collection<UInt8>>(_ bytes: Bytes, into step: inout Step) {
        guard let channel = liveChannel() else { return }
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        drain(into: &step)
    }

    private func drain(into step: inout Step) {
        for event in collector.take() {
            guard end == nil else { return }
            switch event {
            case .part(.head(let decoded)):
                let code = Int(decoded.status.code)
                if (100..<200).contains(code) && code != 101 {
                    // An interim response: the final head starts after it.
                    pendingHead = []
                    continue
                }
                let raw = pendingHead
                pendingHead = []
                head = DecodedHead(
                    version: decoded.version, status: code, reason: Self.reason(inStatusLineOf: raw),
                    headers: decoded.headers, raw: raw)
                framing = Self.framing(of: decoded, requestMethod: requestMethod)
                step.completedHead = true
            case .part(.body(let buffer)):
                let bytes = Array(buffer.readableBytesView)
                body += bytes
                step.body += bytes
            case .part(.end):
                finish(.complete, step: &step)
            case .error(let error):
                finish(.malformed("\(error)"), step: &step)
            }
        }
    }

    private func finish(_ end: ResponseEnd, step: inout Step) {
        self.end = end
        step.ended = true
        close()
    }

    /// The framing NIO's decoder applies to `head` (RFC 9112 §6.3), for callers that report it.
    static func framing(of head: HTTPResponseHead, requestMethod: HTTPMethod) -> BodyFraming {
        let code = head.status.code
        if requestMethod == .HEAD || requestMethod == .CONNECT || code == 204 || code == 304 { return .none }
        if head.headers[canonicalForm: "transfer-encoding"].last?.lowercased() == "chunked" { return .chunked }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init) { return .contentLength(length) }
        return .untilClose
    }

    /// The reason phrase of a raw head: what follows the status code on the first line.
    static func reason(inStatusLineOf raw: [UInt8]) -> String {
        let line = raw.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 ? String(decoding: parts[2], as: UTF8.self) : ""
    }
}

/// The tail of the decoder's pipeline: keeps what NIO's decoder produced until the decoder takes it.
private final class PartCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    enum Event {
        case part(HTTPClientResponsePart)
        case error(any Error)
    }

    private var events: [Event] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        events.append(.part(unwrapInboundIn(data)))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        events.append(.error(error))
    }

    func take() -> [Event] {
        defer { events = [] }
        return events
    }
}
