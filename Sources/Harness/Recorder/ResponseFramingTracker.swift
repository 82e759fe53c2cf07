import Foundation

/// Follows an HTTP/1.1 response's framing through raw bytes, split anywhere, to tell where its head ends and when
/// the response is complete; it never changes or keeps the bytes.
///
/// The recorder forwards every upstream read untouched, so it needs this to know when one exchange is over (and a
/// kept-alive connection may carry the next), and where to cut the head from the first body bytes.
public struct ResponseFramingTracker: Sendable {
    /// Where the tracker is in the response.
    public enum Phase: Sendable, Hashable {
        /// Still reading the status line and headers.
        case head
        /// In the body; its end is determined by the framing.
        case body
        /// Body until the connection closes (no length, not chunked).
        case untilClose
        /// The response is complete; bytes after this belong to no response.
        case complete
    }

    /// The parsed head, once complete.
    public private(set) var head: ParsedResponseHead?
    /// The head's length in bytes, once complete.
    public private(set) var headLength: Int?
    public private(set) var phase: Phase = .head
    /// Bytes consumed so far.
    public private(set) var consumed = 0

    private let requestMethod: String
    private var headBytes: [UInt8] = []
    private var body = BodyState.none

    private enum BodyState {
        case none
        case length(remaining: Int)
        case chunkSize(line: [UInt8])
        case chunkData(remaining: Int)
        /// After a chunk's data: `matched` bytes of its CRLF seen.
        case chunkDataEnd(matched: Int)
        /// After the last chunk: trailer lines until an empty one; `line` is the current line.
        case trailer(line: [UInt8])
    }

    /// A tracker for the response to a request with `requestMethod` (a `HEAD` response has no body).
    public init(requestMethod: String) {
        self.requestMethod = requestMethod.uppercased()
    }

    /// Feeds the next bytes; returns how many of them belong to this response (all of them, unless it completed
    /// within them).
    @discardableResult
    public mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int {
        var used = 0
        for byte in bytes {
            if phase == .complete { break }
            used += 1
            consumed += 1
            step(byte)
        }
        return used
    }

    private mutating func step(_ byte: UInt8) {
        switch phase {
        case .head:
            headBytes.append(byte)
            if headBytes.count >= 4, headBytes.suffix(4).elementsEqual([13, 10, 13, 10]) { finishHead() }
        case .untilClose, .complete:
            break
        case .body:
            stepBody(byte)
        }
    }

    private mutating func finishHead() {
        headLength = headBytes.count
        let parsed = ParsedResponseHead(headBytes)
        head = parsed
        headBytes = []
        guard let parsed else {
            phase = .untilClose
            return
        }
        if (100..<200).contains(parsed.status) || parsed.status == 204 || parsed.status == 304
            || requestMethod == "HEAD"
        {
            phase = .complete
        } else if parsed.isChunked {
            phase = .body
            body = .chunkSize(line: [])
        } else if let length = parsed.contentLength {
            phase = length == 0 ? .complete : .body
            body = .length(remaining: length)
        } else {
            phase = .untilClose
        }
    }

    private mutating func stepBody(_ byte: UInt8) {
        switch body {
        case .none:
            phase = .untilClose
        case .length(let remaining):
            body = .length(remaining: remaining - 1)
            if remaining <= 1 { phase = .complete }
        case .chunkSize(var line):
            line.append(byte)
            guard line.count >= 2, line.suffix(2).elementsEqual([13, 10]) else {
                body = .chunkSize(line: line)
                return
            }
            let text = String(decoding: line.dropLast(2), as: UTF8.self)
            let digits = text.prefix { $0.isHexDigit }
            guard let size = Int(digits, radix: 16) else {
                // Not chunked after all; the body can only end with the connection.
                phase = .untilClose
                return
            }
            body = size == 0 ? .trailer(line: []) : .chunkData(remaining: size)
        case .chunkData(let remaining):
            body = remaining <= 1 ? .chunkDataEnd(matched: 0) : .chunkData(remaining: remaining - 1)
        case .chunkDataEnd(let matched):
            body = matched == 0 ? .chunkDataEnd(matched: 1) : .chunkSize(line: [])
        case .trailer(var line):
            line.append(byte)
            if line == [13, 10] {
                phase = .complete
            } else if line.count >= 2, line.suffix(2).elementsEqual([13, 10]) {
                body = .trailer(line: [])
            } else {
                body = .trailer(line: line)
            }
        }
    }
}

/// A response head as the upstream wrote it: status line parts and header fields in order.
public struct ParsedResponseHead: Sendable, Hashable {
    /// `HTTP/1.1`, as written.
    public var version: String
    /// The status code (three digits).
    public var status: Int
    /// The reason phrase as written (may be empty).
    public var reason: String
    /// Header fields in order, names as written, values with surrounding whitespace removed.
    public var headers: [(name: String, value: String)]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.version == rhs.version && lhs.status == rhs.status && lhs.reason == rhs.reason
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(version)
        hasher.combine(status)
        hasher.combine(reason)
        for field in headers {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }

    /// Parses a complete head (ending with the blank line); nil when it is not an HTTP response head.
    public init?(_ bytes: [UInt8]) {
        // Bytes, not characters: "\r\n" is one Character in Swift.
        guard bytes.count >= 4, bytes.suffix(4).elementsEqual([13, 10, 13, 10]),
            let text = String(validating: bytes.dropLast(4), as: UTF8.self)
        else { return nil }
        var lines = text.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3, let status = Int(parts[1]) else {
            return nil
        }
        version = String(parts[0])
        self.status = status
        reason = parts.count == 3 ? String(parts[2]) : ""
        headers = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t"])
            headers.append((String(line[..<colon]), value))
        }
    }

    /// The last value of header `name` (case-insensitive).
    public func value(of name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// `Transfer-Encoding` ends in `chunked`.
    public var isChunked: Bool {
        value(of: "Transfer-Encoding")?.lowercased().split(separator: ",").last?
            .trimmingCharacters(in: .whitespaces) == "chunked"
    }

    /// A valid `Content-Length`, if any.
    public var contentLength: Int? {
        value(of: "Content-Length").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
    }
}
