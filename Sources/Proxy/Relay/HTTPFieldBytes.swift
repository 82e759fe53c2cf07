/// Byte-level reading of HTTP field names and values (ASCII tokens, RFC 9110), shared by the hop-by-hop filter and
/// the `Connection`/`Keep-Alive` reader: both run on every relayed request or answer, so they compare bytes in place
/// instead of lowercasing copies.
enum HTTPFieldBytes {
    /// ASCII case-insensitive equality with a lowercase literal.
    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { ($0 | 0x20) == $1 || $0 == $1 }
        }
    }

    /// Whether `value` starts with `lowercase`, ASCII case-insensitively.
    static func hasPrefixIgnoringCase(_ value: String, _ lowercase: StaticString) -> Bool {
        equalsIgnoringCase(value.utf8.prefix(lowercase.utf8CodeUnitCount), lowercase)
    }

    /// Without spaces and tabs at either end.
    static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> Bytes
    where Bytes.SubSequence == Bytes {
        var bytes = bytes
        while let first = bytes.first, first == 32 || first == 9 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 32 || last == 9 { bytes = bytes.dropLast() }
        return bytes
    }
}
