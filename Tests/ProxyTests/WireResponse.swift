import Wire

/// One HTTP/1.1 response as the client received it on the wire, parsed strictly enough to tell a clean end (the
/// terminating zero-length chunk) from a truncated body, which is what item 7 is about.
struct WireResponse: CustomStringConvertible {
    var status: Int?
    /// Header lines in order, as written.
    var headers: [(name: String, value: String)] = []
    /// The body: the chunk payloads joined (chunked) or the bytes after the head.
    var body: [UInt8] = []
    /// Payloads of each chunk, in order (chunked bodies only).
    var chunks: [[UInt8]] = []
    /// The zero-length chunk arrived (or a Content-Length body is complete).
    var ended = false
    /// Bytes that are not valid HTTP/1.1 framing (should always be empty).
    var framingError: String?

    init(_ bytes: [UInt8]) {
        guard let headEnd = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
        let lines = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: [" "])))
        }
        var rest = bytes[headEnd.upperBound...]
        if header("transfer-encoding")?.lowercased() == "chunked" {
            while let lineEnd = rest.firstRange(of: Array("\r\n".utf8)) {
                guard let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) else {
                    framingError = "bad chunk size line"
                    return
                }
                let start = lineEnd.upperBound
                guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else {
                    body += rest[start...]  // a chunk cut short: what arrived is still body
                    return
                }
                let payload = Array(rest[start..<(start + size)])
                if size == 0 {
                    ended = true
                    return
                }
                chunks.append(payload)
                body += payload
                rest = rest[(start + size + 2)...]
            }
        } else if let length = header("content-length").flatMap({ Int($0) }) {
            body = Array(rest.prefix(length))
            ended = body.count == length
        } else {
            body = Array(rest)
        }
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    var description: String {
        "status \(status.map(String.init) ?? "none"), \(headers.count) headers, ended \(ended), body "
            + JSONText.quote(text)
    }
}
