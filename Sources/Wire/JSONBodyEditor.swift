/// Edits the top-level members of a JSON object by splicing bytes: every byte it does not touch stays as it was
/// (key order, whitespace, number spelling, escapes, duplicate keys of other names).
///
/// `useModelName` sets `model`; llama-swap's `filters` (`stripParams`, `setParams`) remove and set keys. The editor
/// scans the object once (``JSONTopLevelScanner``, whole document, so an invalid body is refused rather than
/// half-edited) and returns a ``Plan``: the new body as a list of ranges of the original bytes and inserted bytes,
/// in order. A caller with the body in a `ByteBuffer` can send the original ranges as slices of it (no copy at all);
/// ``Plan/apply(to:)`` builds the new bytes in one pass.
public enum JSONBodyEditor {
    /// One change to the top-level object.
    public enum Edit: Sendable, Hashable {
        /// Removes every member with this key.
        case remove(key: String)
        /// Sets the value of every member with this key to `rawJSON` (one JSON value, as bytes), or adds the member
        /// at the end of the object when there is none.
        case set(key: String, rawJSON: [UInt8])

        /// Sets `key` to the JSON string `value`.
        public static func set(key: String, string value: String) -> Edit {
            .set(key: key, rawJSON: Array(JSONText.quote(value).utf8))
        }

        var key: String {
            switch self {
            case .remove(let key), .set(let key, _): key
            }
        }
    }

    /// A piece of the new body.
    public enum Segment: Sendable, Hashable {
        /// These bytes of the original body.
        case original(Range<Int>)
        /// New bytes.
        case inserted([UInt8])

        public var count: Int {
            switch self {
            case .original(let range): range.count
            case .inserted(let bytes): bytes.count
            }
        }
    }

    /// The new body, as pieces in order.
    public struct Plan: Sendable, Hashable {
        public var segments: [Segment]

        /// The new body's length.
        public var count: Int { segments.reduce(0) { $0 + $1.count } }

        /// Nothing changed: the plan is the original bytes, whole.
        public var isIdentity: Bool

        /// The new body, built in one pass.
        public func apply(to original: UnsafeRawBufferPointer) -> [UInt8] {
            var result: [UInt8] = []
            result.reserveCapacity(count)
            for segment in segments {
                switch segment {
                case .original(let range): result.append(contentsOf: original[range])
                case .inserted(let bytes): result.append(contentsOf: bytes)
                }
            }
            return result
        }

        public func apply(to original: [UInt8]) -> [UInt8] {
            original.withUnsafeBytes { apply(to: $0) }
        }
    }

    /// Invalid edits: a `set` whose value is not one JSON value.
    public struct InvalidEdit: Error, Sendable, Hashable, CustomStringConvertible {
        public var key: String
        public var underlying: JSONScanError
        public var description: String { "the value set for '\(key)' is not one JSON value: \(underlying)" }
    }

    /// The plan that applies `edits` to the object in `body`. When several edits name one key, the last wins.
    /// Throws ``JSONScanError`` when `body` is not one JSON object, ``InvalidEdit`` when a set value is not JSON.
    public static func plan(_ edits: [Edit], for body: UnsafeRawBufferPointer) throws -> Plan {
        var effect: [String: Edit] = [:]
        var order: [String] = []
        for edit in edits {
            if case .set(let key, let raw) = edit {
                do {
                    _ = try raw.withUnsafeBytes { try JSONTopLevelScanner.validateValue($0) }
                } catch let error as JSONScanError {
                    throw InvalidEdit(key: key, underlying: error)
                }
            }
            if effect.updateValue(edit, forKey: edit.key) == nil { order.append(edit.key) }
        }
        let object = try JSONTopLevelScanner.scan(body)
        guard let closeBrace = object.closeBrace else { throw JSONScanError(.unexpectedEnd, at: body.count) }

        var builder = Builder()
        let bodyStart = object.members.first?.keyRange.lowerBound ?? closeBrace
        builder.original(0..<bodyStart)
        var emittedMember = false
        var present: Set<String> = []
        var previousEnd = bodyStart
        for member in object.members {
            let gap = previousEnd..<member.keyRange.lowerBound
            previousEnd = member.valueRange.upperBound
            let key = try? member.key(in: body)
            let edit = key.flatMap { effect[$0] }
            if let key, edit != nil { present.insert(key) }
            if case .remove = edit { continue }
            if emittedMember { builder.original(gap) }
            builder.original(member.keyRange.lowerBound..<member.valueRange.lowerBound)
            if case .set(_, let raw) = edit {
                builder.insert(raw)
            } else {
                builder.original(member.valueRange)
            }
            emittedMember = true
        }
        for key in order where !present.contains(key) {
            guard case .set(_, let raw) = effect[key] else { continue }
            builder.insert(Array(((emittedMember ? "," : "") + JSONText.quote(key) + ":").utf8) + raw)
            emittedMember = true
        }
        builder.original(previousEnd..<body.count)
        let isIdentity = builder.segments == [.original(0..<body.count)]
        return Plan(segments: builder.segments, isIdentity: isIdentity)
    }

    public static func plan(_ edits: [Edit], for body: [UInt8]) throws -> Plan {
        try body.withUnsafeBytes { try plan(edits, for: $0) }
    }

    /// Collects segments, merging neighbouring original ranges (an unchanged body is one segment).
    private struct Builder {
        var segments: [Segment] = []

        mutating func original(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            if case .original(let last) = segments.last, last.upperBound == range.lowerBound {
                segments[segments.count - 1] = .original(last.lowerBound..<range.upperBound)
            } else {
                segments.append(.original(range))
            }
        }

        mutating func insert(_ bytes: [UInt8]) {
            segments.append(.inserted(bytes))
        }
    }
}
