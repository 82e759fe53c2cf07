import FakeUpstream
import Foundation

/// Everything the recorder saw of one request and its response, with times relative to the request's arrival.
///
/// A value, so the scenario file is written by a pure function (`RecordingWriter`) and tests can build one by hand.
/// Header values here are as received; redaction happens when the file is written.
public struct RecordedExchange: Sendable {
    /// The request as the client sent it.
    public var request: RecordedRequest
    /// Every upstream read, in order: its offset from the request's full arrival (monotonic clock) and its bytes.
    public var reads: [RecordedRead]
    /// How the upstream ended the exchange.
    public var ending: Ending
    /// When the upstream closed or reset, from the request's arrival; nil when it did neither.
    public var endedAt: Duration?
    /// Why the recording stopped, when it was not the upstream's doing (e.g. the client gave up first).
    public var note: String?
    /// The upstream's base URL, for the description.
    public var upstream: String
    /// Wall-clock time the request arrived, for the description.
    public var date: Date

    /// An exchange as the recorder saw it (tests build them by hand).
    public init(
        request: RecordedRequest, reads: [RecordedRead], ending: Ending, endedAt: Duration? = nil,
        note: String? = nil, upstream: String, date: Date
    ) {
        self.request = request
        self.reads = reads
        self.ending = ending
        self.endedAt = endedAt
        self.note = note
        self.upstream = upstream
        self.date = date
    }
}

/// The request half of an exchange.
public struct RecordedRequest: Sendable, Hashable {
    /// As sent (`POST`).
    public var method: String
    /// The request target as sent, query included.
    public var uri: String
    public var headers: [HeaderField]
    /// The whole body, as the client sent it (only a part is shown in the file's comment).
    public var body: [UInt8]

    /// A request as received.
    public init(method: String, uri: String, headers: [HeaderField] = [], body: [UInt8] = []) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }

    /// The path without the query string, as a scenario `match` compares it.
    public var path: String {
        String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}

/// One read from the upstream socket: one `write` step on replay.
public struct RecordedRead: Sendable, Hashable {
    /// From the request's full arrival, on the monotonic clock.
    public var offset: Duration
    /// Exactly what the read returned.
    public var bytes: [UInt8]

    /// A read at `offset` of `bytes`.
    public init(offset: Duration, bytes: [UInt8]) {
        self.offset = offset
        self.bytes = bytes
    }
}
