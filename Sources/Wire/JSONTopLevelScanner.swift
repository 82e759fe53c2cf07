/// Finds the top-level members of a JSON object in its bytes, in one forward pass, without building the document.
///
/// Made for request bodies: the proxy needs `model` and `stream` from a body that may be tens of megabytes of prompt
/// or base64 image, and must forward the bytes unchanged. The scanner walks the bytes once (no recursion: nesting
/// depth costs one byte of stack per level, on the heap), records where each top-level member's key and value are
/// (byte ranges) and decodes nothing until asked (``decodeString(_:in:)``, ``decodeBool(_:in:)``).
///
/// It validates the JSON grammar of everything it reads (strings, escapes, numbers, literals, nesting) and throws a
/// ``JSONScanError`` that names the offset at the first violation. Two deliberate limits: bytes inside strings it
/// only skips are not checked to be valid UTF-8 (the ones it decodes are), and in ``scan(_:stopAfter:)`` mode with a
/// key set, the bytes after the last wanted key are not read at all, so an error there goes unnoticed (as with
/// llama-swap, which reads `model` with gjson and never validates the rest; the upstream does).
///
/// Duplicate keys are all reported, in order; a reader that wants one value takes the first (gjson does too).
public enum JSONTopLevelScanner {
    /// What kind of value a member has, from its first byte.
    public enum ValueKind: Sendable, Hashable {
        case object, array, string, number, bool, null
    }

    /// One top-level member: where its key (with quotes) and value are, as offsets into the scanned bytes.
    public struct Member: Sendable, Hashable {
        /// The key's bytes, quotes included.
        public var keyRange: Range<Int>
        /// The value's bytes: from its first byte to just after its last (no surrounding whitespace).
        public var valueRange: Range<Int>
        public var kind: ValueKind
        /// The key contains a backslash escape (its raw bytes are not its text).
        public var keyHasEscapes: Bool

        /// The key as text (escapes decoded).
        public func key(in bytes: UnsafeRawBufferPointer) throws -> String {
            try JSONTopLevelScanner.decodeString(bytes, in: keyRange)
        }
    }

    /// The members found and where the object ends.
    public struct Object: Sendable, Hashable {
        /// Every top-level member read, in document order (duplicates included).
        public var members: [Member]
        /// The offset of the object's opening `{`.
        public var openBrace: Int
        /// The offset of the object's closing `}`; `nil` when the scan stopped before it (every wanted key found).
        public var closeBrace: Int?

        /// The first member whose key is `key`, if the scan read one.
        public func first(_ key: String, in bytes: UnsafeRawBufferPointer) -> Member? {
            let wanted = Array(key.utf8)
            return members.first { JSONTopLevelScanner.keyEquals($0, wanted, in: bytes) }
        }
    }

    /// Scans the object in `bytes`.
    ///
    /// With `stopAfter` nil, reads the whole document: one object, optional whitespace around it, nothing else.
    /// With a set of keys, stops right after the value of the last of them to appear (or reads to the end when one
    /// is missing, validating as it goes).
    public static func scan(_ bytes: UnsafeRawBufferPointer, stopAfter keys: Set<String>? = nil) throws -> Object {
        var reader = Reader(bytes)
        return try reader.object(stopAfter: keys.map { $0.map { Array($0.utf8) } })
    }

    /// ``scan(_:stopAfter:)`` over an array.
    public static func scan(_ bytes: [UInt8], stopAfter keys: Set<String>? = nil) throws -> Object {
        try bytes.withUnsafeBytes { try scan($0, stopAfter: keys) }
    }

    /// Checks that `bytes` are exactly one JSON value (whitespace around it allowed); returns its kind.
    public static func validateValue(_ bytes: UnsafeRawBufferPointer) throws -> ValueKind {
        var reader = Reader(bytes)
        reader.skipWhitespace()
        let kind = try reader.value()
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw reader.error(.trailingBytes) }
        return kind
    }

    // MARK: Decoding values

    /// The text of the string whose bytes (quotes included) are at `range`: escapes decoded (`\uXXXX` with
    /// surrogate pairs), UTF-8 validated.
    public static func decodeString(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>) throws -> String {
        guard range.count >= 2, bytes[range.lowerBound] == Byte.quote, bytes[range.upperBound - 1] == Byte.quote else {
            throw JSONScanError(.notAString, at: range.lowerBound)
        }
        let content = UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)])
        guard content.contains(Byte.backslash) else {
            guard let text = String(validating: content, as: UTF8.self) else {
                throw JSONScanError(.invalidUTF8, at: range.lowerBound)
            }
            return text
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(content.count)
        var index = 0
        while index < content.count {
            let byte = content[index]
            guard byte == Byte.backslash else {
                decoded.append(byte)
                index += 1
                continue
            }
            let at = range.lowerBound + 1 + index
            guard index + 1 < content.count else { throw JSONScanError(.invalidEscape, at: at) }
            let escaped = content[index + 1]
            index += 2
            switch escaped {
            case Byte.quote, Byte.backslash, Byte.slash: decoded.append(escaped)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                guard let high = hex4(content, at: index) else { throw JSONScanError(.invalidEscape, at: at) }
                index += 4
                var scalarValue = UInt32(high)
                if (0xD800...0xDBFF).contains(high) {
                    guard index + 6 <= content.count, content[index] == Byte.backslash,
                        content[index + 1] == UInt8(ascii: "u"), let low = hex4(content, at: index + 2),
                        (0xDC00...0xDFFF).contains(low)
                    else { throw JSONScanError(.unpairedSurrogate, at: at) }
                    index += 6
                    scalarValue = 0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(high) {
                    throw JSONScanError(.unpairedSurrogate, at: at)
                }
                guard let scalar = Unicode.Scalar(scalarValue) else { throw JSONScanError(.invalidEscape, at: at) }
                decoded.append(contentsOf: UTF8.encode(scalar)!)
            default:
                throw JSONScanError(.invalidEscape, at: at)
            }
        }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            throw JSONScanError(.invalidUTF8, at: range.lowerBound)
        }
        return text
    }

    /// `true` or `false` for a bool literal at `range`; `nil` for any other value.
    public static func decodeBool(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>) -> Bool? {
        guard let first = range.first.map({ bytes[$0] }) else { return nil }
        if first == UInt8(ascii: "t"), range.count == 4 { return true }
        if first == UInt8(ascii: "f"), range.count == 5 { return false }
        return nil
    }

    /// Whether `member`'s key is the text whose UTF-8 is `key` (raw comparison when the key has no escapes).
    static func keyEquals(_ member: Member, _ key: [UInt8], in bytes: UnsafeRawBufferPointer) -> Bool {
        if member.keyHasEscapes {
            guard let text = try? decodeString(bytes, in: member.keyRange) else { return false }
            return text.utf8.elementsEqual(key)
        }
        let raw = member.keyRange.dropFirst().dropLast()
        guard raw.count == key.count else { return false }
        return zip(raw, key).allSatisfy { bytes[$0] == $1 }
    }

    private static func hex4(_ bytes: UnsafeRawBufferPointer, at index: Int) -> UInt16? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt16 = 0
        for offset in 0..<4 {
            guard let digit = hexValue(bytes[index + offset]) else { return nil }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Invalid JSON, at a byte offset.
public struct JSONScanError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The document (after whitespace) does not start with `{`.
        case notAnObject
        /// The bytes ended inside the object.
        case unexpectedEnd
        /// A byte that the grammar does not allow here.
        case unexpectedByte(UInt8)
        /// A raw control character (below 0x20) inside a string.
        case controlCharacterInString
        case invalidEscape
        /// A `\uD800`–`\uDFFF` escape without its other half.
        case unpairedSurrogate
        case invalidNumber
        case invalidUTF8
        /// Bytes other than whitespace after the object.
        case trailingBytes
        /// Asked to decode a value that is not a string.
        case notAString
    }

    public var reason: Reason
    /// Offset of the offending byte (or where the bytes ended).
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .notAnObject: what = "not a JSON object"
        case .unexpectedEnd: what = "unexpected end of the body"
        case .unexpectedByte(let byte):
            what = (0x21..<0x7F).contains(byte)
                ? "unexpected '\(Character(Unicode.Scalar(byte)))'" : "unexpected byte 0x\(String(byte, radix: 16))"
        case .controlCharacterInString: what = "unescaped control character in a string"
        case .invalidEscape: what = "invalid escape in a string"
        case .unpairedSurrogate: what = "unpaired UTF-16 surrogate escape"
        case .invalidNumber: what = "invalid number"
        case .invalidUTF8: what = "invalid UTF-8 in a string"
        case .trailingBytes: what = "bytes after the JSON object"
        case .notAString: what = "not a string"
        }
        return "invalid JSON at byte \(offset): \(what)"
    }
}

enum Byte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
}

/// The forward-only reader behind ``JSONTopLevelScanner``: an offset into the bytes and the grammar.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    func error(_ reason: JSONScanError.Reason) -> JSONScanError {
        JSONScanError(reason, at: index)
    }

    /// The byte here, or `unexpectedEnd`.
    func peek() throws -> UInt8 {
        guard index < bytes.count else { throw error(.unexpectedEnd) }
        return bytes[index]
    }

    func unexpected() -> JSONScanError {
        index < bytes.count ? error(.unexpectedByte(bytes[index])) : error(.unexpectedEnd)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8) throws {
        guard index < bytes.count, bytes[index] == byte else { throw unexpected() }
        index += 1
    }

    // MARK: The top-level object

    mutating func object(stopAfter wanted: [[UInt8]]?) throws -> JSONTopLevelScanner.Object {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == Byte.openBrace else {
            throw index < bytes.count ? error(.notAnObject) : error(.unexpectedEnd)
        }
        var result = JSONTopLevelScanner.Object(members: [], openBrace: index, closeBrace: nil)
        index += 1
        var missing = wanted ?? []
        skipWhitespace()
        if try peek() == Byte.closeBrace {
            return try close(&result)
        }
        while true {
            guard try peek() == Byte.quote else { throw unexpected() }
            let keyStart = index
            let keyHasEscapes = try string()
            let keyRange = keyStart..<index
            skipWhitespace()
            try expect(Byte.colon)
            skipWhitespace()
            let valueStart = index
            let kind = try value()
            let member = JSONTopLevelScanner.Member(
                keyRange: keyRange, valueRange: valueStart..<index, kind: kind, keyHasEscapes: keyHasEscapes)
            result.members.append(member)
            if !missing.isEmpty {
                missing.removeAll { JSONTopLevelScanner.keyEquals(member, $0, in: bytes) }
                if missing.isEmpty { return result }
            }
            skipWhitespace()
            switch try peek() {
            case Byte.comma:
                index += 1
                skipWhitespace()
            case Byte.closeBrace:
                return try close(&result)
            default:
                throw unexpected()
            }
        }
    }

    /// At the object's `}`: records it and checks that only whitespace follows.
    private mutating func close(_ result: inout JSONTopLevelScanner.Object) throws -> JSONTopLevelScanner.Object {
        result.closeBrace = index
        index += 1
        skipWhitespace()
        guard index == bytes.count else { throw error(.trailingBytes) }
        return result
    }

    // MARK: Values

    /// Skips one value starting here (no leading whitespace), validating it; returns its kind.
    mutating func value() throws -> JSONTopLevelScanner.ValueKind {
        switch try peek() {
        case Byte.quote:
            _ = try string()
            return .string
        case Byte.openBrace:
            try container()
            return .object
        case Byte.openBracket:
            try container()
            return .array
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            return .number
        default:
            throw unexpected()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        for offset in 0..<count {
            guard index + offset < bytes.count else { throw JSONScanError(.unexpectedEnd, at: bytes.count) }
            let byte = bytes[index + offset]
            guard byte == word.utf8Start[offset] else { throw JSONScanError(.unexpectedByte(byte), at: index + offset) }
        }
        index += count
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; what follows is the caller's to check.
    private mutating func number() throws {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw JSONScanError(.invalidNumber, at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw JSONScanError(.invalidNumber, at: start) }
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw JSONScanError(.invalidNumber, at: start) }
            skipDigits()
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    /// Skips a string starting at its opening quote, validating escapes and rejecting raw control characters;
    /// returns whether it contained an escape. The hot loop of a large body: one comparison chain per byte.
    mutating func string() throws -> Bool {
        index += 1  // the opening quote
        var sawEscape = false
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw error(.unexpectedEnd)
        }
        let end = bytes.count
        var i = index
        while true {
            // Eight plain bytes at a time (a word with no quote, backslash or control character), then byte by byte
            // from the word that has one.
            while i + 8 <= end, !Self.mayHaveSpecialByte(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                i += 8
            }
            // Plain bytes: everything but the quote, the backslash and control characters.
            while i < end {
                let byte = base[i]
                if byte == Byte.quote || byte == Byte.backslash || byte < 0x20 { break }
                i += 1
            }
            guard i < end else {
                index = end
                throw error(.unexpectedEnd)
            }
            let byte = base[i]
            if byte == Byte.quote {
                index = i + 1
                return sawEscape
            }
            if byte < 0x20 {
                index = i
                throw error(.controlCharacterInString)
            }
            // A backslash.
            sawEscape = true
            guard i + 1 < end else {
                index = end
                throw error(.unexpectedEnd)
            }
            switch base[i + 1] {
            case Byte.quote, Byte.backslash, Byte.slash, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                UInt8(ascii: "r"), UInt8(ascii: "t"):
                i += 2
            case UInt8(ascii: "u"):
                for offset in 2..<6 {
                    guard i + offset < end else {
                        index = end
                        throw error(.unexpectedEnd)
                    }
                    guard JSONTopLevelScanner.hexValue(base[i + offset]) != nil else {
                        index = i
                        throw error(.invalidEscape)
                    }
                }
                i += 6
            default:
                index = i
                throw error(.invalidEscape)
            }
        }
    }

    /// Whether any of the eight bytes in `word` may be `"`, `\\` or below 0x20 (SWAR: no false negatives; a false
    /// positive only sends the word to the byte loop).
    @inline(__always)
    static func mayHaveSpecialByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
        let quote = hasZeroByte(word ^ (ones &* 0x22))
        let backslash = hasZeroByte(word ^ (ones &* 0x5C))
        let control = (word &- ones &* 0x20) & ~word & highs
        return (quote | backslash | control) != 0
    }

    /// Skips an object or array starting at its opening bracket, nested to any depth, without recursion.
    private mutating func container() throws {
        enum Expect { case keyOrClose, key, valueOrClose, value, commaOrClose }
        // One entry per open container: true for an object.
        var stack: [Bool] = []
        func open(_ isObject: Bool) -> Expect {
            stack.append(isObject)
            return isObject ? .keyOrClose : .valueOrClose
        }
        var next = open(bytes[index] == Byte.openBrace)
        index += 1
        while true {
            skipWhitespace()
            let byte = try peek()
            switch next {
            case .keyOrClose, .key:
                if byte == Byte.closeBrace, next == .keyOrClose {
                    index += 1
                    stack.removeLast()
                    if stack.isEmpty { return }
                    next = .commaOrClose
                    continue
                }
                guard byte == Byte.quote else { throw unexpected() }
                _ = try string()
                skipWhitespace()
                try expect(Byte.colon)
                next = .value
            case .valueOrClose, .value:
                if byte == Byte.closeBracket, next == .valueOrClose {
                    index += 1
                    stack.removeLast()
                    if stack.isEmpty { return }
                    next = .commaOrClose
                    continue
                }
                switch byte {
                case Byte.openBrace, Byte.openBracket:
                    next = open(byte == Byte.openBrace)
                    index += 1
                default:
                    _ = try value()
                    next = .commaOrClose
                }
            case .commaOrClose:
                let isObject = stack[stack.count - 1]
                if byte == Byte.comma {
                    index += 1
                    next = isObject ? .key : .value
                } else if byte == (isObject ? Byte.closeBrace : Byte.closeBracket) {
                    index += 1
                    stack.removeLast()
                    if stack.isEmpty { return }
                } else {
                    throw unexpected()
                }
            }
        }
    }
}
