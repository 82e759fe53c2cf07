import NIOCore
import NIOHTTP1

/// One response decoded from a ``RawTCPClient``'s timed reads, keeping for every body byte the time its read
/// arrived, so callers can measure gaps in the decoded body (heartbeats, stalls) and compare bytes.
public struct TimedResponse: Sendable {
    /// A stretch of body bytes that arrived in one read.
    public struct Piece: Sendable, Hashable {
        public var bytes: [UInt8]
        public var at: NIODeadline
    }

    /// The final head.
    public var head: DecodedHead
    /// When the read that completed the head arrived.
    public var headAt: NIODeadline
    /// Body pieces in order, one per read that carried body bytes, chunk framing removed.
    public var pieces: [Piece]
    /// How the response ended, if it has.
    public var end: ResponseEnd?

    /// The status code.
    public var status: Int { head.status }
    /// Header fields in order, names as written.
    public var headers: HTTPHeaders { head.headers }
    /// The body ended as its framing says (for a close-delimited body: the connection ended).
    public var complete: Bool { end == .complete }
    /// The whole body so far.
    public var body: [UInt8] { pieces.flatMap(\.bytes) }
    /// ``body`` as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? { head.value(name) }

    /// Decodes `reads` (the response to a `requestMethod` request); `connectionEnded` says the connection is over,
    /// which completes a close-delimited body and makes any other unfinished one ``ResponseEnd/closedEarly``.
    /// `nil` while no complete head has arrived.
    public init?(_ reads: [RawTCPClient.Read], requestMethod: String = "GET", connectionEnded: Bool = false) {
        let decoder = ResponseDecoder(requestMethod: requestMethod)
        var headAt: NIODeadline?
        var pieces: [Piece] = []
        for read in reads where decoder.end == nil {
            let step = decoder.feed(read.bytes)
            if step.completedHead { headAt = read.at }
            if !step.body.isEmpty { pieces.append(Piece(bytes: step.body, at: read.at)) }
        }
        if connectionEnded, let last = decoder.connectionClosed().body.nonEmpty, let at = reads.last?.at {
            pieces.append(Piece(bytes: last, at: at))
        }
        guard let head = decoder.head, let headAt else { return nil }
        self.head = head
        self.headAt = headAt
        self.pieces = pieces
        self.end = decoder.end
    }

    /// Decodes what a client has received so far (its end, if any, ends the response).
    public init?(_ received: RawTCPClient.Received, requestMethod: String = "GET") {
        self.init(received.reads, requestMethod: requestMethod, connectionEnded: received.ending != nil)
    }
}

extension Array {
    fileprivate var nonEmpty: Self? { isEmpty ? nil : self }
}
