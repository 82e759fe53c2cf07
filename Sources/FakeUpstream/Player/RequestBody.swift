import Foundation
import Wire

/// Reads the few fields of a JSON request body the fake cares about, without ever failing on garbage.
///
/// The body is read with Wire's ``JSONTopLevelScanner`` (one forward pass that validates the whole document and
/// notes where each top-level member is, building nothing); only a wanted member's own bytes are decoded, by
/// Foundation. Long prompts are what the benchmarks post: three full Foundation parses of a 32 MiB body took the fake
/// 2.5 s (±0.1 s), which buried the proxy's own tens of milliseconds in `bench/compare.sh`'s body rows.
///
/// As the proxy reads bodies: a duplicated key's first value counts, and bytes inside strings the scanner only skips
/// are not checked to be valid UTF-8.
enum RequestBody {
    /// The top-level members, when the whole body is one valid JSON object; nil otherwise.
    static func members(_ body: [UInt8]) -> JSONTopLevelScanner.Object? {
        guard !body.isEmpty else { return nil }
        return try? JSONTopLevelScanner.scan(body)
    }

    /// The value of the top-level member `key` (its first occurrence) as Foundation decodes it (`String`, `Bool`,
    /// a number, an array, a dictionary, `NSNull`); nil when the body is not a valid JSON object or has no `key`.
    static func value(_ key: String, in body: [UInt8], members: JSONTopLevelScanner.Object? = nil) -> Any? {
        guard let object = members ?? Self.members(body) else { return nil }
        return body.withUnsafeBytes { raw -> Any? in
            guard let member = object.first(key, in: raw) else { return nil }
            return try? JSONSerialization.jsonObject(
                with: Data(raw[member.valueRange]), options: [.fragmentsAllowed])
        }
    }

    /// Whether the body parses as JSON at all, any value (llama-server answers 400 otherwise).
    static func isValidJSON(_ body: [UInt8]) -> Bool {
        guard !body.isEmpty else { return false }
        return body.withUnsafeBytes { (try? JSONTopLevelScanner.validateValue($0)) != nil }
    }

    /// `stream_options.include_usage`.
    static func includeUsage(_ body: [UInt8]) -> Bool {
        guard let options = value("stream_options", in: body) as? [String: Any] else { return false }
        return options["include_usage"] as? Bool ?? false
    }

    /// `n_predict`, `max_completion_tokens` or `max_tokens`, as llama-server reads them.
    static func maxTokens(_ body: [UInt8]) -> Int? {
        guard let members = members(body) else { return nil }
        for key in ["n_predict", "max_completion_tokens", "max_tokens"] {
            // A JSON `true` would cast to 1.
            let found = value(key, in: body, members: members)
            if let number = found as? Int, !(found is Bool) { return number }
        }
        return nil
    }

    /// `sse_ping_interval` in seconds, llama-server's per-request ping interval since #25241; nil when absent or
    /// not a number.
    static func ssePingInterval(_ body: [UInt8]) -> Double? {
        // Decoded, not cast: a JSON `true` must not read as 1 second, and JSONDecoder refuses it for a Double. Only
        // the member's bytes, wrapped in an object of their own.
        struct Fields: Decodable { var sse_ping_interval: Double? }
        guard let members = members(body) else { return nil }
        let member = body.withUnsafeBytes { raw in members.first("sse_ping_interval", in: raw) }
        guard let member else { return nil }
        let wrapped = Array("{\"sse_ping_interval\":".utf8) + body[member.valueRange] + Array("}".utf8)
        guard let seconds = (try? JSONDecoder().decode(Fields.self, from: Data(wrapped)))?.sse_ping_interval
        else { return nil }
        return seconds.isFinite ? seconds : nil
    }

    /// How many inputs an embeddings request carries (`input` a string, or an array).
    static func embeddingInputs(_ body: [UInt8]) -> Int {
        guard let members = members(body) else { return 1 }
        let input = value("input", in: body, members: members) ?? value("content", in: body, members: members)
        if let array = input as? [Any] { return max(array.count, 1) }
        return 1
    }
}
