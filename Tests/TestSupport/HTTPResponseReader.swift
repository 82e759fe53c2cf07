import NIOCore

/// Decodes one HTTP/1.1 response from the timed reads a ``RawTCPClient`` recorded, keeping for every body byte the
/// time its read arrived, so tests can measure gaps in the decoded body (heartbeats, stalls) and compare bytes.
public struct HTTPResponseReader: Sendable {
    /// A stretch of body bytes that arrived in one read.
    public struct Piece: Sendable, Hashable {
        public var bytes: [UInt8]
        public var at: NIODeadline
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    /// Body pieces in order, chunk framing removed.
    public var pieces: [Piece]
    /// True when the body ended as its framing says (last chunk, or Content-Length reached).
    public var complete: Bool
    /// When the head was complete.
    public var headAt: NIODeadline

    public var body: [UInt8] { pieces.flatMap(\.bytes) }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Parses `reads`; `nil` when no complete head is there yet.
    public init?(_ reads: [RawTCPClient.Read]) {
        var buffer: [UInt8] = []
        var times: [NIODeadline] = []
        for read in reads {
            buffer += read.bytes
            times += Array(repeating: read.at, count: read.bytes.count)
        }
        guard let headEnd = Self.find([13, 10, 13, 10], in: buffer, from: 0) else { return nil }
        let headText = String(decoding: buffer[..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        self.status = status
        self.headers = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            return (String(line[..<colon]), String(value))
        }
        self.headAt = times[headEnd + 3]
        var pieces: [Piece] = []
        func append(_ range: Range<Int>) {
            var start = range.lowerBound
            while start < range.upperBound {
                var end = start + 1
                while end < range.upperBound, times[end] == times[start] { end += 1 }
                if let last = pieces.last, last.at == times[start] {
                    pieces[pieces.count - 1].bytes += buffer[start..<end]
                } else {
                    pieces.append(Piece(bytes: Array(buffer[start..<end]), at: times[start]))
                }
                start = end
            }
        }
        var position = headEnd + 4
        var complete = false
        let chunked = headers.contains {
            $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked")
        }
        if chunked {
            while let lineEnd = Self.find([13, 10], in: buffer, from: position) {
                let sizeText = String(decoding: buffer[position..<lineEnd], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { break }
                let dataStart = lineEnd + 2
                if size == 0 {
                    complete = true
                    break
                }
                let available = min(size, buffer.count - dataStart)
                append(dataStart..<dataStart + available)
                guard available == size, dataStart + size + 2 <= buffer.count else { break }
                position = dataStart + size + 2
            }
        } else if let length = headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap({ Int($0.value) }) {
            let available = min(length, buffer.count - position)
            append(position..<position + available)
            complete = available == length
        } else {
            append(position..<buffer.count)
        }
        self.pieces = pieces
        self.complete = complete
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if Array(haystack[index..<index + needle.count]) == needle { return index }
        }
        return nil
    }
}
