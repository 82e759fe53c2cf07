
/// HTTP/1.1 bytes the player writes itself: status lines, header blocks and chunked framing.
///
/// Kept apart from the planner so that the exact bytes of a head or a chunk are checked in one place, and so the
/// server engineer can reuse them for responses the harness itself produces.
public enum HTTPWire {
    /// The header llama-server (cpp-httplib) sends first on every response.
    public static let serverHeader = HeaderField("Server", "llama.cpp")
    /// llama-server's CORS header, sent with an empty value when no origin is configured.
    public static let corsHeader = HeaderField("Access-Control-Allow-Origin", "")
    /// cpp-httplib's keep-alive advertisement, sent unless the response names `Connection`.
    public static let keepAliveHeader = HeaderField("Keep-Alive", "timeout=5, max=100")
    /// The chunked terminator: the last chunk (size 0) and the empty trailer.
    public static let chunkTerminator: [UInt8] = Array("0\r\n\r\n".utf8)

    /// Status line and headers, ending with the blank line, for `head` whose body is `bodyLength` bytes long.
    ///
    /// With `automaticHeaders` the list is llama-server's: `Server`, `Access-Control-Allow-Origin`, the user's
    /// headers, the framing header unless the user gave one, then `Keep-Alive` unless the user gave `Connection`.
    public static func headBytes(_ head: ResponseHead, bodyLength: Int) -> [UInt8] {
        var lines = ["HTTP/1.1 \(head.status) \(head.reason ?? reasonPhrase(for: head.status))"]
        for field in headerFields(head, bodyLength: bodyLength) {
            lines.append("\(field.name): \(field.value)")
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// A whole response the harness answers itself (its own endpoints, a malformed request, the recorder's 502):
    /// status line, `Content-Type`, `Content-Length`, `Connection: close` when `close`, then the body. Built by
    /// `headBytes`, so every head the fake and the harness write comes from one place.
    public static func response(status: Int, contentType: String, body: [UInt8], close: Bool = false) -> [UInt8] {
        var headers = [HeaderField("Content-Type", contentType), HeaderField("Content-Length", String(body.count))]
        if close { headers.append(HeaderField("Connection", "close")) }
        let head = ResponseHead(status: status, headers: headers, framing: .raw, automaticHeaders: false)
        return headBytes(head, bodyLength: body.count) + body
    }

    /// The interim `100 Continue` response.
    public static let continueResponse: [UInt8] = headBytes(
        ResponseHead(status: 100, framing: .raw, automaticHeaders: false), bodyLength: 0)

    /// The header fields `headBytes` writes, in order.
    public static func headerFields(_ head: ResponseHead, bodyLength: Int) -> [HeaderField] {
        guard head.automaticHeaders, head.framing != .raw else { return head.headers }
        var fields = [serverHeader, corsHeader]
        fields += head.headers
        switch head.framing {
        case .chunked:
            if !head.headers.contains(named: "Transfer-Encoding") {
                fields.append(HeaderField("Transfer-Encoding", "chunked"))
            }
        case .contentLength(let declared):
            if !head.headers.contains(named: "Content-Length") {
                fields.append(HeaderField("Content-Length", String(declared ?? bodyLength)))
            }
        case .closeDelimited, .raw:
            break
        }
        if !head.headers.contains(named: "Connection") {
            fields.append(keepAliveHeader)
        }
        return fields
    }

    /// One HTTP chunk: lowercase hex size, CRLF, the bytes, CRLF. No bytes give no chunk at all, because a
    /// zero-length chunk would end the body.
    public static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.reserveCapacity(out.count + bytes.count + 4)
        out += [0x0D, 0x0A]
        out += bytes
        out += [0x0D, 0x0A]
        return out
    }

    /// The standard reason phrase for `status` (RFC 9110 and the usual extras); `Unknown` for the rest.
    public static func reasonPhrase(for status: Int) -> String {
        reasonPhrases[status] ?? "Unknown"
    }

    private static let reasonPhrases: [Int: String] = [
        100: "Continue", 101: "Switching Protocols", 103: "Early Hints",
        200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
        205: "Reset Content", 206: "Partial Content",
        300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
        307: "Temporary Redirect", 308: "Permanent Redirect",
        400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
        405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
        408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
        413: "Payload Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
        417: "Expectation Failed", 418: "I'm a teapot", 421: "Misdirected Request", 422: "Unprocessable Content",
        425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
        431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
        500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
        504: "Gateway Timeout", 505: "HTTP Version Not Supported", 507: "Insufficient Storage",
        511: "Network Authentication Required",
    ]
}

extension [HeaderField] {
    /// Whether a field with this name is present (names compare case-insensitively, as HTTP says).
    func contains(named name: String) -> Bool {
        contains { $0.name.lowercased() == name.lowercased() }
    }
}
