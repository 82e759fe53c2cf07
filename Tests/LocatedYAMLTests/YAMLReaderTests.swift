import DurationMath
import LocatedYAML
import Testing

/// Reads the value of `key` in `yaml` with `read`, returning the value or the error's whole message.
func read<T>(
    _ yaml: String, rules: ScalarRules = .strict, _ read: (YAMLReader, YAMLNode) throws(LocatedError) -> T
) throws -> Result<T, LocatedError> {
    let root = try #require(try YAMLNode.compose(yaml: yaml, file: "r.yaml"))
    let node = try #require(root["v"])
    let reader = YAMLReader(file: "r.yaml", rules: rules)
    do {
        return .success(try read(reader, node))
    } catch {
        return .failure(error)
    }
}

@Suite struct YAMLReaderTests {
    /// Strict files (scenarios) take only plain `true`/`false`; YAML 1.1 files (the llama-swap config) also take
    /// `yes`/`on`/`No` and quoted values, as Go's YAML reader does.
    @Test(arguments: [
        ("v: true", true, true), ("v: yes", nil, true), ("v: On", nil, true), ("v: NO", nil, false),
        ("v: 'true'", nil, true), ("v: maybe", nil, nil), ("v: [true]", nil, nil),
    ] as [(String, Bool?, Bool?)])
    func booleansFollowTheRules(yaml: String, strict: Bool?, yaml11: Bool?) throws {
        let strictly = try read(yaml) { r, n throws(LocatedError) in try r.bool(n, "v") }
        let leniently = try read(yaml, rules: .yaml11) { r, n throws(LocatedError) in try r.bool(n, "v") }
        #expect((try? strictly.get()) == strict)
        #expect((try? leniently.get()) == yaml11)
    }

    @Test(arguments: [
        ("v: 42", "42"), ("v: '7'", "r.yaml:1:4: v: expected a whole number from 1 to 100, got the string '7'"),
        ("v: 0", "r.yaml:1:4: v: expected a whole number from 1 to 100, got '0'"),
        ("v: 1.5", "r.yaml:1:4: v: expected a whole number from 1 to 100, got '1.5'"),
        ("v:", "r.yaml:1:3: v: expected a whole number from 1 to 100, got nothing"),
    ])
    func integersSayTheirRange(yaml: String, expected: String) throws {
        let result = try read(yaml) { r, n throws(LocatedError) in try r.integer(n, "v", in: 1...100) }
        #expect((try? result.get()).map(String.init) ?? (result.failureDescription ?? "") == expected)
    }

    @Test(arguments: [
        ("v: 500ms", "0.5"), ("v: '1m30s'", "90.0"),
        ("v: soon", "r.yaml:1:4: v: expected a duration such as 500ms, 10s or 2m, got 'soon'"),
        ("v: -1s", "r.yaml:1:4: v: expected a duration >= 0, got '-1s'"),
        ("v: 10parsecs", "r.yaml:1:4: v: expected a duration such as 500ms, 10s or 2m (unknown duration unit 'parsecs'; use ns, us, ms, s, m or h), got '10parsecs'"),
        ("v: 2h", "r.yaml:1:4: v: expected a duration of at most 3600 s, got '2h'"),
        ("v: [1s]", "r.yaml:1:4: v: expected a duration such as 500ms, 10s or 2m, got a list"),
    ])
    func durationsSayWhatIsWrong(yaml: String, expected: String) throws {
        var rules = ScalarRules.strict
        rules.longestDuration = 3600
        let result = try read(yaml, rules: rules) { r, n throws(LocatedError) in try r.duration(n, "v") }
        #expect((try? result.get()).map { "\($0.seconds)" } ?? (result.failureDescription ?? "") == expected)
    }

    /// `substitute` sees every scalar a typed getter reads, with the node for its errors.
    @Test func substitutionAppliesBeforeTyping() throws {
        var rules = ScalarRules.yaml11
        rules.substitute = { text, node, key throws(LocatedError) in
            guard text != "${bad}" else { throw LocatedError("\(key): no such variable", at: node.location) }
            return text.replacingOccurrences(of: "${port}", with: "8080")
        }
        let port = try read("v: ${port}", rules: rules) { r, n throws(LocatedError) in try r.integer(n, "v", in: 1...65535) }
        #expect(try port.get() == 8080)
        let bad = try read("v: ${bad}", rules: rules) { r, n throws(LocatedError) in try r.string(n, "v") }
        #expect(bad.failureDescription == "r.yaml:1:4: v: no such variable")
    }

    @Test(arguments: [
        ("v: {hex: '48 69'}", [0x48, 0x69]), ("v: {base64: SGk=}", [0x48, 0x69]), ("v: {repeat: ab, count: 2}", Array("abab".utf8)),
        ("v: Hi", [0x48, 0x69]),
    ] as [(String, [UInt8])])
    func bytesHaveThreeMappingForms(yaml: String, bytes: [UInt8]) throws {
        #expect(try read(yaml) { r, n throws(LocatedError) in try r.bytes(n, "v") }.get() == bytes)
    }

    @Test(arguments: [("v: 64KiB", 65536), ("v: '2 MB'", 2_000_000), ("v: 1", 1)])
    func byteSizesTakeUnits(yaml: String, size: Int) throws {
        #expect(try read(yaml, rules: .yaml11) { r, n throws(LocatedError) in try r.byteSize(n, "v") }.get() == size)
    }
}

extension Result where Failure == LocatedError {
    var failureDescription: String? {
        if case .failure(let error) = self { return error.description }
        return nil
    }
}
