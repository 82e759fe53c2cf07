import LocatedYAML
import Testing
import Yams

/// Malformed YAML is a `LocatedError` naming `file:line:column`, and it keeps libyaml's error as its cause.
@Suite struct MalformedYAMLTests {
    @Test(arguments: [
        ("a: 1\n  b: 2\n", "bad.yaml:2:4: invalid YAML: mapping values are not allowed in this context"),
        ("a: [1, 2\nb: 3\n", "bad.yaml:2:2: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)"),
        ("a: \"unterminated\n", "bad.yaml:2:1: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at 1:4)"),
        ("a: 1\nb: 2\na: 3\n", "bad.yaml:3:1: duplicate key 'a'; it is already set at 1:1"),
        ("m: {a: 1, a: 2}\n", "bad.yaml:1:5: duplicate key 'a' in one mapping; each key may appear once"),
        ("a: *missing\n", "bad.yaml:1:4: invalid YAML: found undefined alias"),
    ])
    func syntaxErrorsNameTheirPlace(yaml: String, expected: String) {
        #expect(throws: LocatedError.self) { try YAMLNode.compose(yaml: yaml, file: "bad.yaml") }
        do {
            _ = try YAMLNode.compose(yaml: yaml, file: "bad.yaml")
        } catch {
            #expect(error.description == expected)
            #expect(error.underlying is YamlError, "the libyaml error is kept as the cause")
        }
    }

    /// Invalid UTF-8 cannot reach the composer as a `String`; a control character is libyaml's reader error, placed
    /// at its byte offset.
    @Test func readerErrorsPointAtTheCharacter() throws {
        do {
            _ = try YAMLNode.compose(yaml: "a: 1\nb: x\u{0}y\n", file: "nul.yaml")
            Issue.record("a NUL character was accepted")
        } catch {
            #expect(error.location == SourceLocation(file: "nul.yaml", line: 2, column: 5))
            #expect(error.message.hasPrefix("invalid text: "))
        }
    }
}
