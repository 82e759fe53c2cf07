import Foundation
import FakeUpstream

/// Reads an HTTP/1.1 response incrementally, as bytes arrive: the head, then the body de-framed (chunked,
/// `Content-Length`, or until close). The replay client uses it on every read, and the runner uses it on the
/// fake's journal to recover the upstream's body.
///
/// Tolerant by design: it never traps on bad input; malformed framing stops body parsing and sets `problem`.
public struct HTTPResponseParser: Sendable, Hashable {
    /// A parsed status line and its headers.
    public struct Head: Sendable, Hashable {
        /// The status code.
        public var status: Int
        /// Header fields in order, as received.
        public var headers: [HeaderField]

        /// The first value of `name` (case-insensitive).
        public func value(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// What one `consume` call changed.
    public struct Progress: Sendable, Hashable {
        /// The final (non-1xx) head became complete during this call.
        public var completedHead = false
        /// Body bytes decoded during this call.
        public var body: [UInt8] = []
    }

    private enum Framing: Sendable, Hashable {
        case chunked
        case length(Int)
        case untilClose
        case none
    }

    private enum ChunkState: Sendable, Hashable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailer
    }

    /// The final response head, once complete.
    public private(set) var head: Head?
    /// Every body byte so far, de-framed.
    public private(set) var body: [UInt8] = []
    /// The response is complete (terminator seen, length reached, or closed when close-delimited).
    public private(set) var isComplete = false
    /// Why parsing stopped early, if it did.
    public private(set) var problem: String?
    /// The request was `HEAD`: a head alone completes the response.
    public var requestWasHead: Bool

    private var pending: [UInt8] = []
    private var framing: Framing = .none
    private var chunkState: ChunkState = .size

    /// A parser for the response to a request with `method`.
    public init(requestMethod: String = "POST") {
        self.requestWasHead = requestMethod.uppercased() == "HEAD"
    }

    /// Feeds the next bytes received.
    @discardableResult
    public mutating func consume(_ bytes: [UInt8]) -> Progress {
        var progress = Progress()
        guard !isComplete, problem == nil else { return progress }
        pending += bytes
        while head == nil {
            guard let end = Self.headEnd(in: pending) else {
                if pending.count > 1 << 20 { problem = "response head over 1 MiB" }
                return progress
            }
            let headBytes = Array(pending[..<end])
            pending.removeFirst(end + 4)
            guard let parsed = Self.parseHead(headBytes) else {
                problem = "malformed response head"
                return progress
            }
            if (100..<200).contains(parsed.status) && parsed.status != 101 { continue }
            head = parsed
            progress.completedHead = true
            framing = Self.framing(of: parsed, headRequest: requestWasHead)
            if case .none = framing { isComplete = true }
            if case .length(0) = framing { isComplete = true }
        }
        progress.body = decodeBody()
        return progress
    }

    /// The connection ended: a close-delimited body is complete now; anything else unfinished stays incomplete.
    public mutating func connectionClosed() {
        if head != nil, case .untilClose = framing, problem == nil { isComplete = true }
    }

    private mutating func decodeBody() -> [UInt8] {
        var out: [UInt8] = []
        switch framing {
        case .none:
            break
        case .untilClose:
            out = pending
            pending = []
        case .length(let remaining):
            let take = min(remaining, pending.count)
            out = Array(pending[..<take])
            pending.removeFirst(take)
            framing = .length(remaining - take)
            if remaining - take == 0 { isComplete = true }
        case .chunked:
            out = decodeChunks()
        }
        body += out
        return out
    }

    private mutating func decodeChunks() -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        defer { pending.removeFirst(index) }
        while !isComplete && problem == nil {
            switch chunkState {
            case .size:
                guard let lineEnd = Self.crlf(in: pending, from: index) else { return out }
                let line = String(decoding: pending[index..<lineEnd], as: UTF8.self)
                let sizeText = line.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: " \t"), radix: 16), size >= 0 else {
                    problem = "malformed chunk size line '\(line.prefix(20))'"
                    return out
                }
                index = lineEnd + 2
                chunkState = size == 0 ? .trailer : .data(remaining: size)
            case .data(let remaining):
                let take = min(remaining, pending.count - index)
                if take == 0 { return out }
                out += pending[index..<index + take]
                index += take
                chunkState = remaining == take ? .dataEnd : .data(remaining: remaining - take)
            case .dataEnd:
                guard pending.count - index >= 2 else { return out }
                guard pending[index] == 0x0D, pending[index + 1] == 0x0A else {
                    problem = "chunk data not followed by CRLF"
                    return out
                }
                index += 2
                chunkState = .size
            case .trailer:
                guard let lineEnd = Self.crlf(in: pending, from: index) else { return out }
                if lineEnd == index { isComplete = true }
                index = lineEnd + 2
            }
        }
        return out
    }

    private static func framing(of head: Head, headRequest: Bool) -> Framing {
        if headRequest || head.status == 204 || head.status == 304 { return .none }
        if let encoding = head.value("Transfer-Encoding"), encoding.lowercased().contains("chunked") { return .chunked }
        if let length = head.value("Content-Length").flatMap({ Int($0.trimmingCharacters(in: " ")) }), length >= 0 {
            return .length(length)
        }
        return .untilClose
    }

    private static func headEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D && bytes[index + 3] == 0x0A {
            return index
        }
        return nil
    }

    private static func crlf(in bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 0x0D && bytes[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    private static func parseHead(_ bytes: [UInt8]) -> Head? {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else {
            return nil
        }
        var headers: [HeaderField] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            headers.append(HeaderField(String(line[..<colon]), value))
        }
        return Head(status: status, headers: headers)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
