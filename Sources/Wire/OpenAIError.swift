/// The OpenAI error envelope, `{"error":{"message","type","code"}}`, that OpenAI clients turn into exceptions.
///
/// Both the proxy (its own errors, and in-band errors after a committed `200`) and the fake upstream (strict-mode
/// misses) answer with it, so clients and tests parse one shape.
public struct OpenAIError: Sendable, Hashable, Error {
    public var message: String
    public var type: String
    /// Usually the HTTP status the error stands for.
    public var code: Int

    public init(message: String, type: String, code: Int) {
        self.message = message
        self.type = type
        self.code = code
    }

    /// The envelope as compact JSON bytes.
    public var json: String {
        "{\"error\":{\"message\":\(JSONText.quote(message)),\"type\":\(JSONText.quote(type)),\"code\":\(code)}}"
    }

    /// The envelope as one SSE event (`data: …` and a blank line), the in-band form used after headers went out.
    public var sseEvent: String { "data: \(json)\n\n" }

    /// The `type` OpenAI uses for a status code.
    public static func type(forStatus status: Int) -> String {
        switch status {
        case 400, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 503: "unavailable_error"
        case 504: "timeout_error"
        default: status >= 500 ? "server_error" : "invalid_request_error"
        }
    }
}

/// Minimal JSON string quoting, so that error bodies never need a JSON encoder's key ordering or escaping of `/`.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}
