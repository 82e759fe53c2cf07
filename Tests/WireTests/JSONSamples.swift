import Foundation
import SeededRandom

/// A seeded generator (SplitMix64), local to these tests so they depend on nothing but the scanner.
/// The one seeded generator (`pick` comes from SSEBoundaryTrackerTests' extension).
typealias JSONTestRandom = SplitMix64

extension SplitMix64 {
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &self) < percent }
}

/// Random JSON request bodies that stress a top-level scanner: random key order, keys spelled with escapes, the
/// wanted key names inside nested values and inside strings, every escape, raw multi-byte UTF-8, big numbers,
/// random whitespace. Every sample is valid JSON (the tests check that with JSONSerialization first).
struct JSONSamples {
    var random: JSONTestRandom

    init(seed: UInt64) { random = JSONTestRandom(seed: seed) }

    /// (spelling in the document, the key it decodes to).
    static let keys: [(String, String)] = [
        ("\"model\"", "model"), ("\"mo\\u0064el\"", "model"), ("\"stream\"", "stream"),
        ("\"str\\u0065am\"", "stream"), ("\"messages\"", "messages"), ("\"temperature\"", "temperature"),
        ("\"max_tokens\"", "max_tokens"), ("\"caf\\u00e9\"", "café"), ("\"café\"", "café"), ("\"a\\\"b\"", "a\"b"),
        ("\"\"", ""), ("\"modelx\"", "modelx"), ("\"Model\"", "Model"), ("\"\\u6a21\\u578b\"", "模型"),
        ("\"model \"", "model "), ("\"m\\/odel\"", "m/odel"),
    ]

    static let numbers = [
        "0", "-0", "1", "-1", "42", "12345678901234567890", "12345678901234567890.5e-3", "1e5", "2.5E+3",
        "-0.000001", "3.14159265358979323846", "0.1", "1E-7", "-9007199254740993",
    ]

    static let stringPieces = [
        "hello", " ", "world", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u0064",
        "\\u0000", "\\uD83D\\uDE00", "é", "模型", "😀", "\\\"model\\\":\\\"evil\\\"", "{", "}", "[", "]", ",", ":",
        "model", "stream", "true", "\\u005c",
    ]

    static let whitespace = ["", "", "", " ", "\n", "\t", "\r\n  ", "  "]

    mutating func ws() -> String { random.pick(Self.whitespace) }

    mutating func string() -> String {
        var text = "\""
        for _ in 0..<Int.random(in: 0...6, using: &random) { text += random.pick(Self.stringPieces) }
        return text + "\""
    }

    mutating func value(depth: Int) -> String {
        let roll = Int.random(in: 0..<10, using: &random)
        switch roll {
        case 0...2: return string()
        case 3...4: return random.pick(Self.numbers)
        case 5: return random.pick(["true", "false", "null"])
        case 6...7 where depth < 4: return nestedObject(depth: depth + 1)
        case 8...9 where depth < 4:
            let items = (0..<Int.random(in: 0...4, using: &random)).map { _ in ws() + value(depth: depth + 1) + ws() }
            return "[" + (items.isEmpty ? ws() : items.joined(separator: ",")) + "]"
        default: return string()
        }
    }

    /// A nested object: may repeat keys (JSONSerialization keeps one), names `model` and `stream` freely.
    mutating func nestedObject(depth: Int) -> String {
        let count = Int.random(in: 0...4, using: &random)
        let members = (0..<count).map { _ in
            ws() + random.pick(Self.keys).0 + ws() + ":" + ws() + value(depth: depth) + ws()
        }
        return "{" + (members.isEmpty ? ws() : members.joined(separator: ",")) + "}"
    }

    /// A top-level object with distinct keys (by their decoded text), in random order; `model` is usually a string
    /// and `stream` usually a bool, but not always.
    mutating func object() -> [UInt8] {
        var chosen: [(String, String)] = []
        for key in Self.keys.shuffled(using: &random) where random.chance(45) {
            if !chosen.contains(where: { $0.1 == key.1 }) { chosen.append(key) }
        }
        let members = chosen.map { spelling, key -> String in
            let value: String
            switch key {
            case "model": value = random.chance(85) ? string() : self.value(depth: 1)
            case "stream": value = random.chance(85) ? random.pick(["true", "false"]) : self.value(depth: 1)
            default: value = self.value(depth: 1)
            }
            return ws() + spelling + ws() + ":" + ws() + value + ws()
        }
        return Array((ws() + "{" + (members.isEmpty ? ws() : members.joined(separator: ",")) + "}" + ws()).utf8)
    }

    /// `bytes` with one byte replaced by an ASCII byte that JSON's grammar cares about.
    mutating func corrupt(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return bytes }
        var copy = bytes
        let replacements = Array("{}[]\":,\\ntfu0123456789.-+eE \t\n\u{01}ax/".utf8)
        copy[Int.random(in: 0..<copy.count, using: &random)] = random.pick(replacements)
        return copy
    }
}

/// JSONSerialization's reading of a body, as the oracle.
enum JSONOracle {
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// One value, canonically serialized (sorted keys), so two readings can be compared as bytes.
    static func canonical(_ value: Any) -> Data? {
        try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])
    }

    static func canonicalFragment(_ bytes: some Collection<UInt8>) -> Data? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed) else {
            return nil
        }
        return canonical(value)
    }
}
