import Testing

@testable import FakeUpstream

/// Each kind of mistake, with the exact message and `line:column` a user sees.
@Suite struct ScenarioParserErrorTests {
    /// `d` opens every case so that line numbers below are easy to count: line 1 is the description.
    static let steps = "description: d\nresponses:\n  - steps:\n"

    @Test(arguments: [
        ("", "test.yaml:1:1: the file is empty; expected a mapping with at least 'description'"),
        (
            "- a\n- b\n",
            "test.yaml:1:1: the top level: expected a mapping with keys description, timeScale, model, models, strict, llamaServer, health, responses, proxy, request, profile, expect, openGates, runs, got a list"
        ),
        (
            "timeScale: 1\n",
            "test.yaml:1:1: missing key 'description': every scenario says in one line which real-world behaviour it models"
        ),
        (
            "description: d\ndescriptoin: e\n",
            "test.yaml:2:1: unknown key 'descriptoin' in the top level; expected one of: description, timeScale, model, models, strict, llamaServer, health, responses, proxy, request, profile, expect, openGates, runs; did you mean 'description'?"
        ),
        ("description:\n", "test.yaml:1:13: description: expected a non-empty string, got nothing"),
        ("description: \"two\\nlines\"\n", "test.yaml:1:14: description: expected a single line, got the string 'two\\nlines'"),
        ("description: d\ntimeScale: 0\n", "test.yaml:2:12: timeScale: expected a number > 0 and <= 1000, got '0'"),
        ("description: d\ntimeScale: 1e4\n", "test.yaml:2:12: timeScale: expected a number > 0 and <= 1000, got '1e4'"),
        ("description: d\ntimeScale: \"1\"\n", "test.yaml:2:12: timeScale: expected a number > 0 and <= 1000, got the string '1'"),
        ("description: d\nstrict: yes\n", "test.yaml:2:9: strict: expected true or false, got 'yes'"),
        ("description: d\nmodels: {a: b}\n", "test.yaml:2:9: models: expected a list of model ids, got a mapping"),
        ("description: d\ndescription: e\n", "test.yaml:2:1: duplicate key 'description'; it is already set at 1:1"),
        ("description: d\n  bad: indent\n", "test.yaml:2:6: invalid YAML: mapping values are not allowed in this context"),
        (
            "description: [unclosed\n",
            "test.yaml:2:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at 1:14)"
        ),
        (
            steps + "      - stauts: 200\n",
            "test.yaml:4:9: unknown key 'stauts' in step; expected one of: wait, status, write, event, split, tokens, gate, end, reason, headers, framing, contentLength, automaticHeaders; did you mean 'status'?"
        ),
        (steps + "      - status: 2000\n", "test.yaml:4:17: status: expected an HTTP status from 100 to 999, got '2000'"),
        (
            steps + "      - wait: 1s\n        write: x\n",
            "test.yaml:5:9: a step has exactly one kind, got both 'wait' and 'write'; write each as its own list item"
        ),
        (
            steps + "      - end: clean\n      - wait: 1s\n",
            "test.yaml:5:9: step after 'end' would never be played; 'end' must be the last step"
        ),
        (steps + "      - wait: abc\n", "test.yaml:4:15: wait: expected a duration such as 500ms, 10s or 2m, got 'abc'"),
        (steps + "      - wait: 1e300\n", "test.yaml:4:15: wait: expected a duration of at most 1000000 s, got '1e300'"),
        (steps + "      - wait: \"1e300\\n\"\n", "test.yaml:4:15: wait: expected a duration of at most 1000000 s, got the string '1e300\\n'"),
        (steps + "      - wait: 278h\n", "test.yaml:4:15: wait: expected a duration of at most 1000000 s, got '278h'"),
        (
            steps + "      - split: {write: abcdef, at: [3, 3]}\n",
            "test.yaml:4:40: at: expected an offset > 3 and < 6 (the payload's byte count), got '3'"
        ),
        (
            steps + "      - split: {write: abcdef, at: [2], gap: 1s, gaps: [1s]}\n",
            "test.yaml:4:50: split: use either 'gap' (one for every cut) or 'gaps' (one per cut), not both"
        ),
        (steps + "      - write: {hex: \"abc\"}\n", "test.yaml:4:22: hex: expected an even number of hex digits, got the string 'abc'"),
        (
            steps + "      - write: {repeat: a, count: 100000000}\n",
            "test.yaml:4:35: count: expected at most 67108864 bytes in total (64 MiB), got 1 × 100000000"
        ),
        (
            steps + "      - status: 200\n        contentLength: 3\n",
            "test.yaml:5:9: contentLength: only allowed with 'framing: content-length'"
        ),
        (steps + "      - write: x\n        reason: y\n", "test.yaml:5:9: 'reason' is only allowed on a 'status' step"),
        (steps + "      - tokens: {count: 1, style: chatt}\n", "test.yaml:4:35: style: expected one of chat, completion, native, got 'chatt'"),
        (
            "description: d\nresponses:\n  - match: {path: /x}\n",
            "test.yaml:3:5: rule: missing key 'steps' (answers every request) or 'sequence' (one response per request)"
        ),
        (
            "description: d\nhealth:\n  states:\n    - {status: 503}\n    - {status: 200}\n",
            "test.yaml:4:7: health state: missing key 'for'; only the last state may hold forever"
        ),
        (
            "description: d\nhealth:\n  states: [{status: 200, for: 1s}, {status: 503}]\n  repeat: true\n",
            "test.yaml:3:36: health state: 'repeat: true' needs every state to have 'for' > 0"
        ),
    ])
    func fullMessage(yaml: String, message: String) {
        #expect(parseError(yaml) == message)
    }

    /// Where each mistake is reported, and a word of its message; the message text itself is covered above.
    @Test(arguments: [
        // Scalars read per type: YAML 1.1 booleans and octal never sneak in.
        (steps + "      - status: 200\n        automaticHeaders: no\n", 5, 27, "true or false"),
        (steps + "      - tokens: {count: 010.0}\n", 4, 25, "whole number"),
        (steps + "      - tokens: {count: 1e3}\n", 4, 25, "whole number"),
        (steps + "      - tokens: {count: -1}\n", 4, 25, "whole number"),
        (steps + "      - tokens: {count: 1, perSecond: 0}\n", 4, 39, ">= 0.001"),
        (steps + "      - tokens: {count: 1, perSecond: .inf}\n", 4, 39, ">= 0.001"),
        (steps + "      - tokens: {count: 1, jitter: 1}\n", 4, 36, "< 1"),
        (steps + "      - tokens: {count: 1, seed: -3}\n", 4, 34, ">= 0"),
        (steps + "      - tokens: {perSecond: 3}\n", 4, 17, "missing key 'count'"),
        (steps + "      - tokens: {count: 1, words: a}\n", 4, 35, "list of words"),
        (steps + "      - status: 99\n", 4, 17, "100 to 999"),
        (steps + "      - status: \"200\"\n", 4, 17, "the string '200'"),
        (steps + "      - status: 200\n        framing: gzip\n", 5, 18, "chunked, content-length, close-delimited"),
        (steps + "      - status: 200\n        framing: chunked\n        contentLength: 1\n", 6, 9, "content-length"),
        (steps + "      - status: 200\n        framing: content-length\n        contentLength: -1\n", 6, 24, ">= 0"),
        (steps + "      - status: 200\n        headers: [a]\n", 5, 18, "mapping of header names"),
        (steps + "      - status: 200\n        headers: {\"a b\": c}\n", 5, 19, "header name"),
        (steps + "      - status: 200\n        headers: {X: \"a\\nb\"}\n", 5, 22, "single line"),
        (steps + "      - status: 200\n        reason: \"\"\n", 5, 17, "non-empty"),
        (steps + "      - reason: OK\n", 4, 9, "only allowed on a 'status' step"),
        (steps + "      - {}\n", 4, 9, "empty mapping"),
        (steps + "      - end\n", 4, 9, "a mapping with one of wait"),
        (steps + "      - end: abort\n", 4, 14, "clean, close, fin, rst, half-close, hang"),
        (steps + "      - gate: \"\"\n", 4, 15, "non-empty"),
        (steps + "      - wait: 10parsecs\n", 4, 15, "unknown duration unit 'parsecs'"),
        (steps + "      - wait: -1\n", 4, 15, "expected a duration >= 0"),
        (steps + "      - wait: [1]\n", 4, 15, "duration"),
        (steps + "      - write: {hex: \"zz\"}\n", 4, 22, "hex digits"),
        (steps + "      - write: {base64: \"!!!\"}\n", 4, 25, "base64"),
        (steps + "      - write: {hex: \"00\", base64: \"AA==\"}\n", 4, 28, "one of hex, base64 or repeat"),
        (steps + "      - write: {hex: \"00\", count: 2}\n", 4, 28, "'count' goes with 'repeat'"),
        (steps + "      - write: {repeat: ab}\n", 4, 17, "needs 'count'"),
        (steps + "      - write: {count: 2}\n", 4, 16, "only 'count'"),
        (steps + "      - write: {hx: \"00\"}\n", 4, 17, "did you mean 'hex'?"),
        (steps + "      - write: [1, 2]\n", 4, 16, "a string or a mapping"),
        (steps + "      - event: {}\n", 4, 16, "at least one of data"),
        (steps + "      - event: {lineEnding: crlf}\n", 4, 16, "at least one of data"),
        (steps + "      - event: {data: x, lineEnding: crlf2}\n", 4, 38, "lf, crlf, cr"),
        (steps + "      - event: {data: x, id: \"a\\nb\"}\n", 4, 30, "single line"),
        (steps + "      - event: {data: x, retry: soon}\n", 4, 33, "milliseconds"),
        (steps + "      - event: {data: x, evnt: y}\n", 4, 26, "did you mean 'event'?"),
        (steps + "      - split: {at: [1]}\n", 4, 16, "missing key 'write' or 'event'"),
        (steps + "      - split: {write: ab, event: {data: x}, at: [1]}\n", 4, 28, "either 'write' or 'event'"),
        (steps + "      - split: {write: abc}\n", 4, 16, "missing key 'at'"),
        (steps + "      - split: {write: abc, at: []}\n", 4, 33, "empty list"),
        (steps + "      - split: {write: abc, at: [0]}\n", 4, 34, "> 0 and < 3"),
        (steps + "      - split: {write: abc, at: [2, 1]}\n", 4, 37, "> 2 and < 3"),
        (steps + "      - split: {write: abc, at: [1, 2], gaps: [1s]}\n", 4, 47, "one duration per offset"),
        (steps + "      - split: {write: a, at: [1]}\n", 4, 32, "no cut is left"),
        (steps + "      - split: {write: abc, at: [1], gap: soon}\n", 4, 43, "duration"),
        ("description: d\nresponses:\n  - steps: []\n", 3, 12, "empty list"),
        ("description: d\nresponses:\n  - steps: {wait: 1}\n", 3, 12, "a list of steps"),
        ("description: d\nresponses:\n  - steps: [{end: close}]\n    sequence: []\n", 4, 5, "not both"),
        ("description: d\nresponses:\n  - sequence: []\n", 3, 15, "empty list"),
        ("description: d\nresponses:\n  - sequence: [{stps: []}]\n", 3, 17, "did you mean 'steps'?"),
        ("description: d\nresponses:\n  - sequence: [{}]\n", 3, 16, "missing key 'steps'"),
        ("description: d\nresponses:\n  - nme: x\n    steps: [{wait: 1}]\n", 3, 5, "did you mean 'name'?"),
        ("description: d\nresponses:\n  - match: {method: \"PO ST\"}\n    steps: [{wait: 1}]\n", 3, 21, "HTTP method"),
        ("description: d\nresponses:\n  - match: {path: \"/a?b=1\"}\n    steps: [{wait: 1}]\n", 3, 19, "without a query"),
        ("description: d\nresponses:\n  - match: {stream: 1}\n    steps: [{wait: 1}]\n", 3, 21, "true or false"),
        ("description: d\nresponses:\n  - match: {headers: {X: {a: b}}}\n    steps: [{wait: 1}]\n", 3, 26, "a string"),
        ("description: d\nresponses:\n  - match: {pth: /x}\n    steps: [{wait: 1}]\n", 3, 13, "did you mean 'path'?"),
        ("description: d\nresponses: {a: 1}\n", 2, 12, "a list of rules"),
        ("description: d\nresponses:\n  - 1\n", 3, 5, "a mapping with keys name"),
        ("description: d\nhealth: []\n", 2, 9, "a mapping"),
        ("description: d\nhealth: {}\n", 2, 9, "missing key 'states'"),
        ("description: d\nhealth: {states: []}\n", 2, 18, "empty list"),
        ("description: d\nhealth: {states: [{for: 1s}]}\n", 2, 19, "missing key 'status'"),
        ("description: d\nhealth: {states: [{status: 200, body: {hex: 0}}]}\n", 2, 45, "even number"),
        ("description: d\nhealth: {states: [{status: 200, for: 0}], repeat: true}\n", 2, 19, "'for' > 0"),
        ("description: d\nhealth: {states: [{status: 200}], repeat: 1}\n", 2, 43, "true or false"),
        ("description: d\nhealth: {states: [{status: 200}], repaet: true}\n", 2, 35, "did you mean 'repeat'?"),
        ("description: d\n? [a]\n: b\n", 2, 3, "key name"),
        ("description: d\nmodel: *nothing\n", 2, 8, "undefined alias"),
        ("description: d\n---\ndescription: e\n", 2, 1, "another document"),
        ("description: d\n\tresponses: []\n", 2, 1, "tab"),
        ("description: \"unterminated\n", 2, 1, "invalid YAML"),
        // Yams reports the first of two equal keys; the error points at the second, the one to delete.
        (steps + "      - status: 200\n        status: 201\n", 5, 9, "duplicate key 'status'; it is already set at 4:9"),
        (steps + "      - status: 200\n        headers:\n          X-A: 1\n          X-A: 2\n", 7, 11, "already set at 6:11"),
        (steps + "      - {status: 200, status: 201}\n", 4, 10, "duplicate key 'status' in one mapping"),
        // Columns count characters, not UTF-8 bytes: é is one column.
        ("description: d\nmodels: [é, {a: b}]\n", 2, 13, "models: expected a string, got a mapping"),
        ("description: d\nmodels: [\"🦙\", 1, [x]]\n", 2, 18, "models: expected a string, got a list"),
    ])
    func location(yaml: String, line: Int, column: Int, fragment: String) throws {
        let message = try #require(parseError(yaml), "expected an error for \(yaml.debugDescription)")
        #expect(message.hasPrefix("test.yaml:\(line):\(column): "), "\(message)")
        #expect(message.contains(fragment), "\(message)")
    }

    @Test func byteOrderMarkIsSkippedAndColumnsCountCharacters() throws {
        // A byte-order mark and non-ASCII text before the mistake: columns count characters, not bytes.
        let message = try #require(parseError("\u{FEFF}description: é\nstatus: 1\n"))
        #expect(message.hasPrefix("test.yaml:2:1: unknown key 'status'"))
    }
}
