import Foundation

/// Reads the few fields of a JSON request body the fake cares about, without ever failing on garbage.
enum RequestBody {
    /// The body as a JSON object, or nil when it is not one.
    static func object(_ body: [UInt8]) -> [String: Any]? {
        guard !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) as? [String: Any]
    }

    /// Whether the body parses as JSON at all (llama-server answers 400 otherwise).
    static func isValidJSON(_ body: [UInt8]) -> Bool {
        guard !body.isEmpty else { return false }
        return (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) != nil
    }

    /// `stream_options.include_usage`.
    static func includeUsage(_ body: [UInt8]) -> Bool {
        guard let options = object(body)?["stream_options"] as? [String: Any] else { return false }
        return options["include_usage"] as? Bool ?? false
    }

    /// `n_predict`, `max_completion_tokens` or `max_tokens`, as llama-server reads them.
    static func maxTokens(_ body: [UInt8]) -> Int? {
        guard let object = object(body) else { return nil }
        for key in ["n_predict", "max_completion_tokens", "max_tokens"] {
            if let value = object[key] as? Int { return value }
        }
        return nil
    }

    /// `sse_ping_interval` in seconds, llama-server's per-request ping interval since #25241; nil when absent or
    /// not a number.
    static func ssePingInterval(_ body: [UInt8]) -> Double? {
        // Decoded, not cast: a JSON `true` must not read as 1 second, and JSONDecoder refuses it for a Double.
        struct Fields: Decodable { var sse_ping_interval: Double? }
        guard !body.isEmpty,
            let seconds = (try? JSONDecoder().decode(Fields.self, from: Data(body)))?.sse_ping_interval
        else { return nil }
        return seconds.isFinite ? seconds : nil
    }

    /// How many inputs an embeddings request carries (`input` a string, or an array).
    static func embeddingInputs(_ body: [UInt8]) -> Int {
        guard let object = object(body) else { return 1 }
        let input = object["input"] ?? object["content"]
        if let array = input as? [Any] { return max(array.count, 1) }
        return 1
    }
}
