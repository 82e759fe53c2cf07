/// Parses the durations users write in config and scenario files.
///
/// Accepted: a plain number of seconds (`95`, `0.5`), or a number with a unit: `ns`, `us`, `ms`, `s`, `m`, `h`
/// (`500ms`, `1.5s`, `2m`), optionally several joined as Go writes them (`1m30s`). Negative values are refused,
/// because no duration in these files can be negative.
public enum DurationParser {
    /// Why a text is not a duration; `expected` says what was wanted, in words a user can act on.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// Not a number of seconds nor numbers with units.
        case notADuration
        /// A number followed by a unit that is not one of `ns`, `us`, `ms`, `s`, `m`, `h`.
        case unknownUnit(String)
        /// Written with a minus sign.
        case negative
        /// Longer than the caller's limit (or `maximumSeconds`).
        case tooLong(maximumSeconds: Double)

        /// What was expected instead, to follow "expected": `a duration of at most 1000000 s`.
        public var expected: String {
            let example = "a duration such as 500ms, 10s or 2m"
            switch self {
            case .notADuration: return example
            case .unknownUnit(let unit):
                return "\(example) (unknown duration unit '\(unit)'; use ns, us, ms, s, m or h)"
            case .negative: return "a duration >= 0"
            case .tooLong(let maximum): return "a duration of at most \(Int(maximum)) s"
            }
        }

        public var description: String { "expected \(expected)" }
    }

    /// Parses `seconds` given as a number (YAML int or float), refusing more than `limit` seconds.
    public static func duration(seconds: Double, atMost limit: Double = maximumSeconds) throws(Failure) -> Duration {
        guard !seconds.isNaN else { throw .notADuration }
        guard seconds >= 0 else { throw .negative }
        let limit = min(limit, maximumSeconds)
        guard seconds <= limit else { throw .tooLong(maximumSeconds: limit) }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// Parses text such as `500ms`, `10s`, `2m`, `1m30s` or a bare number of seconds, refusing more than `limit`
    /// seconds.
    public static func duration(_ text: String, atMost limit: Double = maximumSeconds) throws(Failure) -> Duration {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { throw .notADuration }
        if let seconds = Double(trimmed) { return try duration(seconds: seconds, atMost: limit) }
        if trimmed.hasPrefix("-") { throw .negative }

        var total: Double = 0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isNumber || $0 == ".") } ?? rest.endIndex
            let unitEnd = rest[numberEnd...].firstIndex { $0.isNumber || $0 == "." } ?? rest.endIndex
            guard numberEnd > rest.startIndex, let value = Double(rest[rest.startIndex..<numberEnd]) else {
                throw .notADuration
            }
            let unit = rest[numberEnd..<unitEnd]
            guard let scale = unitSeconds[String(unit)] else { throw .unknownUnit(String(unit)) }
            total += value * scale
            rest = rest[unitEnd...]
        }
        return try duration(seconds: total, atMost: limit)
    }

    /// About 31 years: longer than anything a script or config means, and far from `Int64` nanosecond overflow.
    public static let maximumSeconds: Double = 1e9

    private static let unitSeconds: [String: Double] = [
        "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
    ]
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}
