import Foundation
import Wire

/// Tokens and speeds of one answer, from llama-server's `timings` (`prompt_n`, `predicted_n`, `prompt_per_second`,
/// `predicted_per_second`) or, without them, OpenAI's `usage` (`prompt_tokens`, `completion_tokens`); `timings`
/// wins when both are present, as in llama-swap.
public struct TokenCounts: Sendable, Hashable {
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var promptPerSecond: Double?
    public var predictedPerSecond: Double?

    public init(
        promptTokens: Int? = nil, completionTokens: Int? = nil, promptPerSecond: Double? = nil,
        predictedPerSecond: Double? = nil
    ) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.promptPerSecond = promptPerSecond
        self.predictedPerSecond = predictedPerSecond
    }

    /// Reads the last `"timings"` and `"usage"` objects in `tail`, the last bytes of an upstream body: the final
    /// SSE data events of a stream, or the end of a non-streaming JSON answer (llama-server writes both members
    /// last). Each object is read by ``JSONTopLevelScanner`` from its `{`; nothing else of the body is parsed.
    /// `nil` when neither is there.
    public static func read(tail: [UInt8]) -> TokenCounts? {
        var counts = TokenCounts()
        var found = false
        // No quote, no member: most small answers (`OK`, `{}`) end here without building the key sets.
        guard tail.contains(UInt8(ascii: "\"")) else { return nil }
        if let timings = lastObject(named: "timings", in: tail, keys: timingKeys) {
            counts.promptTokens = timings["prompt_n"].flatMap(Int.init(exactly:))
            counts.completionTokens = timings["predicted_n"].flatMap(Int.init(exactly:))
            counts.promptPerSecond = timings["prompt_per_second"].flatMap { $0.isFinite ? $0 : nil }
            counts.predictedPerSecond = timings["predicted_per_second"].flatMap { $0.isFinite ? $0 : nil }
            found = true
        }
        // `timings` wins, so `usage` only fills a count it left out: for llama-server's answers (both counts in
        // `timings`) the tail is not searched a second time, back to its start, for a `usage` that would not count.
        if counts.promptTokens == nil || counts.completionTokens == nil,
            let usage = lastObject(named: "usage", in: tail, keys: usageKeys)
        {
            counts.promptTokens = counts.promptTokens ?? usage["prompt_tokens"].flatMap(Int.init(exactly:))
            counts.completionTokens = counts.completionTokens ?? usage["completion_tokens"].flatMap(Int.init(exactly:))
            found = true
        }
        return found ? counts : nil
    }

    private static let usageKeys: Set<String> = ["prompt_tokens", "completion_tokens"]
    private static let timingKeys: Set<String> = ["prompt_n", "predicted_n", "prompt_per_second", "predicted_per_second"]

    /// The numbers `keys` of the last object that is the value of a member named `name` in `bytes`.
    static func lastObject(named name: String, in bytes: [UInt8], keys: Set<String>) -> [String: Double]? {
        let pattern = Array("\"\(name)\"".utf8)
        guard bytes.count >= pattern.count else { return nil }
        // Candidates from the end, found by an unchecked byte scan (a stream's tail is searched twice per request).
        var start = bytes.count - pattern.count
        while start >= 0 {
            let found: Int? = bytes.withUnsafeBufferPointer { buffer in
                pattern.withUnsafeBufferPointer { wanted in
                    var at = start
                    while at >= 0 {
                        if buffer[at] == wanted[0], memcmp(buffer.baseAddress! + at, wanted.baseAddress!, wanted.count) == 0 {
                            return at
                        }
                        at -= 1
                    }
                    return nil
                }
            }
            guard let candidate = found else { return nil }
            start = candidate - 1
            // A key, not text inside a string: inside one, the quote would be escaped.
            if candidate > 0 && bytes[candidate - 1] == UInt8(ascii: "\\") { continue }
            var index = candidate + pattern.count
            func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { continue }
            index += 1
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { continue }
            if let values = numbers(keys, inObjectAt: Array(bytes[index...])) { return values }
        }
        return nil
    }

    /// The scanner stops after the last wanted key; when one is missing it reads to the object's end and then
    /// refuses what follows it (the rest of the body), so the object is read again alone.
    static func numbers(_ keys: Set<String>, inObjectAt object: [UInt8]) -> [String: Double]? {
        let scanned: JSONTopLevelScanner.Object
        var bytes = object
        do {
            scanned = try JSONTopLevelScanner.scan(bytes, stopAfter: keys)
        } catch let error as JSONScanError where error.reason == .trailingBytes {
            bytes = Array(object[..<error.offset])
            guard let again = try? JSONTopLevelScanner.scan(bytes, stopAfter: keys) else { return nil }
            scanned = again
        } catch {
            return nil
        }
        var values: [String: Double] = [:]
        bytes.withUnsafeBytes { raw in
            for key in keys {
                guard let member = scanned.first(key, in: raw), member.kind == .number else { continue }
                values[key] = Double(String(decoding: raw[member.valueRange], as: UTF8.self))
            }
        }
        return values
    }
}

/// The last bytes of an upstream body, kept for ``TokenCounts/read(tail:)`` at the body's end: a bounded copy
/// (at most twice ``limit`` bytes, trimmed to ``limit``), no allocation once it has grown.
struct TokenTail {
    /// llama-server's last event (with `timings`) is well under 2 KiB; a `usage`-only chunk comes just before it.
    static let limit = 16 * 1024
    private(set) var bytes: [UInt8] = []

    mutating func append(_ chunk: some Collection<UInt8>) {
        if chunk.count >= Self.limit {
            bytes.removeAll(keepingCapacity: true)
            bytes += chunk.suffix(Self.limit)
            return
        }
        bytes += chunk
        if bytes.count > 2 * Self.limit { bytes.removeFirst(bytes.count - Self.limit) }
    }
}
