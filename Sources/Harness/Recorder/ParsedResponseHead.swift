import Foundation

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
