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
