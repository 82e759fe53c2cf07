import Foundation

extension YAMLReader {
    /// The keys of bytes written as a mapping: one of the three forms `{hex}`, `{base64}`, `{repeat, count}`.
    public static let byteFormKeys = ["hex", "base64", "repeat", "count"]

    /// The most bytes one value may expand to (`repeat` × `count`), so a typo cannot exhaust memory.
    public static let largestBytes = 64 * 1024 * 1024

    /// Bytes: a string (UTF-8) or a mapping with `hex`, `base64`, or `repeat` + `count`.
    public func bytes(_ node: YAMLNode, _ key: String) throws(LocatedError) -> [UInt8] {
        let forms = "a string or a mapping with one of hex, base64, or repeat + count"
        switch node.content {
        case .scalar:
            return Array(try string(node, key).utf8)
        case .mapping:
            let form = try fields(node, "\(key) bytes", allowed: Self.byteFormKeys)
            let kinds = form.entries.filter { $0.key != "count" }
            guard let kind = kinds.first else {
                let got = form.entries.isEmpty ? "an empty mapping" : "only 'count'"
                throw error("\(key): expected \(forms), got \(got)", at: node)
            }
            if kinds.count > 1 {
                throw error(
                    "\(key): use one of hex, base64 or repeat, got both '\(kind.key)' and '\(kinds[1].key)'",
                    at: kinds[1].keyNode)
            }
            if kind.key != "repeat", let count = form.entry("count") {
                throw error("\(key): 'count' goes with 'repeat', not '\(kind.key)'", at: count.keyNode)
            }
            switch kind.key {
            case "hex":
                return try hex(kind.value, "hex")
            case "base64":
                let text = try string(kind.value, "base64").filter { !$0.isWhitespace }
                guard let data = Data(base64Encoded: text) else {
                    throw mismatch("base64", expected: "base64 text", got: kind.value)
                }
                return Array(data)
            default:
                guard let count = form.entry("count") else {
                    throw error("\(key): 'repeat' needs 'count' (how many times)", at: kind.keyNode)
                }
                return try repeated(Array(try string(kind.value, "repeat").utf8), count: count.value)
            }
        default:
            throw mismatch(key, expected: forms, got: node)
        }
    }

    /// `unit` repeated `count` times, refusing totals over `largestBytes` before allocating anything.
    private func repeated(_ unit: [UInt8], count countNode: YAMLNode) throws(LocatedError) -> [UInt8] {
        let count = try integer(countNode, "count", in: 0...Int.max, expected: "a whole number >= 0")
        let (total, overflow) = unit.count.multipliedReportingOverflow(by: count)
        if overflow || total > Self.largestBytes {
            throw error(
                "count: expected at most \(Self.largestBytes) bytes in total (64 MiB), got \(unit.count) × \(count)",
                at: countNode)
        }
        guard total > 0 else { return [] }
        var out = unit
        out.reserveCapacity(total)
        while out.count * 2 <= total { out += out }
        out += out.prefix(total - out.count)
        return out
    }

    private func hex(_ node: YAMLNode, _ key: String) throws(LocatedError) -> [UInt8] {
        let digits = Array(try string(node, key).unicodeScalars.filter { !$0.properties.isWhitespace })
        guard digits.allSatisfy({ $0.properties.isASCIIHexDigit }) else {
            throw mismatch(key, expected: "hex digits (0-9, a-f) and spaces", got: node)
        }
        guard digits.count.isMultiple(of: 2) else {
            throw mismatch(key, expected: "an even number of hex digits", got: node)
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            // Both are ASCII hex digits (checked above), so the pair always parses.
            out.append(UInt8(String(digits[index]) + String(digits[index + 1]), radix: 16)!)
            index += 2
        }
        return out
    }
}
