/// Parses the durations users write in config and scenario files.
///
/// Accepted: a plain number of seconds (`95`, `0.5`), or a number with a unit: `ns`, `us`, `ms`, `s`, `m`, `h`
/// (`500ms`, `1.5s`, `2m`), optionally several joined as Go writes them (`1m30s`). Negative values are refused,
/// because no duration in these files can be negative.
public enum DurationParser {
    /// Why a text is not a duration, in words a user can act on.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `seconds` given as a number (YAML int or float).
    public static func duration(seconds: Double) throws(Failure) -> Duration {
        guard seconds.isFinite else { throw Failure(description: "duration must be a finite number of seconds") }
        guard seconds >= 0 else { throw Failure(description: "duration must not be negative, got \(seconds)") }
        guard seconds <= maximumSeconds else {
            throw Failure(description: "duration \(seconds) s is too long (at most \(Int(maximumSeconds)) s)")
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// Parses text such as `500ms`, `10s`, `2m`, `1m30s` or a bare number of seconds.
    public static func duration(_ text: String) throws(Failure) -> Duration {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { throw Failure(description: "expected a duration such as 500ms, 10s or 2m, got an empty value") }
        if let seconds = Double(trimmed) { return try duration(seconds: seconds) }
        if trimmed.hasPrefix("-") { throw Failure(description: "duration must not be negative, got '\(text)'") }

        var total: Double = 0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isNumber || $0 == ".") } ?? rest.endIndex
            let unitEnd = rest[numberEnd...].firstIndex { $0.isNumber || $0 == "." } ?? rest.endIndex
            guard numberEnd > rest.startIndex, let value = Double(rest[rest.startIndex..<numberEnd]) else {
                throw Failure(description: "expected a duration such as 500ms, 10s or 2m, got '\(text)'")
            }
            let unit = rest[numberEnd..<unitEnd]
            guard let scale = unitSeconds[String(unit)] else {
                throw Failure(
                    description: "unknown duration unit '\(unit)' in '\(text)' (use ns, us, ms, s, m or h)"
                )
            }
            total += value * scale
            rest = rest[unitEnd...]
        }
        return try duration(seconds: total)
    }

    /// About 31 years: longer than anything a script or config means, and far from `Int64` nanosecond overflow.
    public static let maximumSeconds: Double = 1e9

    private static let unitSeconds: [String: Double] = [
        "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
    ]
}

extension Duration {
    /// The duration as a floating-point number of seconds, for arithmetic such as time scaling.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds, rounded toward zero.
    public var nanoseconds: Int64 {
        let (s, attoseconds) = components
        return s * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// This duration multiplied by a time scale (`0.01` replays 95 s in 0.95 s).
    /// The product saturates at `Int64` nanoseconds instead of trapping.
    public func scaled(by factor: Double) -> Duration {
        let product = (Double(nanoseconds) * factor).rounded()
        guard product.isFinite else { return product < 0 ? .nanoseconds(Int64.min) : .nanoseconds(Int64.max) }
        if product >= Double(Int64.max) { return .nanoseconds(Int64.max) }
        if product <= Double(Int64.min) { return .nanoseconds(Int64.min) }
        return .nanoseconds(Int64(product))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}
