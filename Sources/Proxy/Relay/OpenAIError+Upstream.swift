import Foundation
import Wire

extension OpenAIError {
    /// How much of an upstream's error body the relay keeps to build the in-band error; the message is near the
    /// start, and an unbounded body must not grow the proxy's memory.
    public static let upstreamErrorBodyLimit = 16 * 1024

    /// The in-band error for an upstream that answered `status` with `body` after the proxy had committed `200`.
    ///
    /// Keeps what the upstream said: `message` and `type` from an OpenAI or llama.cpp envelope
    /// (`{"error":{"message","type",…}}`), `{"error":"…"}`, `{"message":"…"}` or FastAPI's `{"detail":"…"}`;
    /// otherwise the body as text. The code is the upstream's status, which the client can no longer see.
    public init(upstreamStatus status: Int, body: some Collection<UInt8>) {
        let type = Self.type(forStatus: status)
        let bytes = Array(body.prefix(Self.upstreamErrorBodyLimit))
        if let (message, upstreamType) = Self.envelopeFields(bytes) {
            self.init(message: message, type: upstreamType ?? type, code: status)
            return
        }
        var text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count > 1000 { text = String(text.prefix(1000)) + "…" }
        let message = text.isEmpty ? "upstream answered HTTP \(status) with an empty body" : text
        self.init(message: message, type: type, code: status)
    }

    private static func envelopeFields(_ bytes: [UInt8]) -> (message: String, type: String?)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        if let error = object["error"] as? [String: Any], let message = error["message"] as? String {
            return (message, error["type"] as? String)
        }
        for key in ["error", "message", "detail"] {
            if let message = object[key] as? String { return (message, nil) }
        }
        return nil
    }
}
