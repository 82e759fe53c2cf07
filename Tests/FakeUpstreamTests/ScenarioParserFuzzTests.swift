import SeededRandom
import Testing

@testable import FakeUpstream

/// Seeded random mutations of valid scenarios: the parser must never crash, and every error must point inside the
/// text (line 1 up to one past the last line, column ≥ 1).
@Suite struct ScenarioParserFuzzTests {
    static let validTexts = [
        """
        # yaml-language-server: $schema=scenario.schema.json
        description: "llama-server spends 95 s in prompt processing before it sends any header"
        timeScale: 0.01
        model: tiny-random-llama
        models: [other-model, "010"]
        strict: true
        health:
          states:
            - {status: 503, for: 60s}
            - {status: 200, body: '{"status":"ok"}'}
        responses:
          - name: slow-prefill
            match:
              method: POST
              path: /v1/chat/completions
              stream: true
              headers: {X-Scenario: slow}
            steps:
              - wait: 95s
              - status: 200
                headers:
                  Content-Type: text/event-stream
                  Cache-Control: no-cache
              - tokens: {count: 16, perSecond: 20, firstTokenAfter: 2s, jitter: 0.2, seed: 7, style: chat}
              - end: close
        """,
        """
        description: torn events and odd framing
        responses:
          - match: {path: /v1/completions}
            sequence:
              - steps:
                  - status: 200
                    framing: content-length
                    contentLength: 5
                    automaticHeaders: false
                  - write: {hex: "68 65 6c 6c 6f"}
                  - end: fin
              - steps:
                  - split: {write: "data: {\\"a\\":1}\\n\\n", at: [3, 9], gaps: [10ms, 1s]}
                  - split:
                      event: {data: "x", id: "1", lineEnding: crlf}
                      at: [2]
                      gap: 1m30s
                  - event:
                      data: |
                        first
                        second
                      comment: keepalive
                      retry: 1000
                  - write: {base64: "aGVsbG8="}
                  - write: {repeat: "ab", count: 64}
                  - gate: release-me
                  - end: half-close
        """,
        """
        description: flapping health
        health:
          states:
            - status: 200
              for: 1s
            - status: 503
              for: 500ms
              body: {repeat: "x", count: 3}
          repeat: true
        responses:
          - steps: &s [{status: 500, reason: Broken}, {write: oops}, {end: rst}]
          - sequence: [{steps: *s}, {steps: [{wait: 1}, {end: hang}]}]
        """,
    ]

    /// Counts lines as libyaml does: `\r\n`, `\r`, `\n`, NEL, LS and PS each end a line.
    static func lineCount(_ text: String) -> Int {
        var count = 1
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": if !previousWasCR { count += 1 }
            case "\r", "\u{85}", "\u{2028}", "\u{2029}": count += 1
            default: break
            }
            previousWasCR = scalar == "\r"
        }
        return count
    }

    @Test(arguments: 0..<validTexts.count)
    func seedTextsAreValid(index: Int) throws {
        _ = try parseScenario(Self.validTexts[index])
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func mutationsNeverCrashAndErrorsPointInsideTheText(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var errors = 0
        for iteration in 0..<750 {
            var text = Self.validTexts[iteration % Self.validTexts.count]
            for _ in 0...random.nextIndex(below: 3) { text = Self.mutate(text, &random) }
            do {
                _ = try ScenarioParser.parse(yaml: text, file: "fuzz.yaml")
            } catch {
                errors += 1
                let lines = Self.lineCount(text)
                #expect(error.location.file == "fuzz.yaml")
                #expect((1...(lines + 1)).contains(error.location.line), "\(error) for \(text.debugDescription)")
                #expect(error.location.column >= 1, "\(error)")
                #expect(!error.message.isEmpty)
            }
        }
        // Mutations mostly break something; if none were errors the mutator would not be doing its job.
        #expect(errors > 200)
    }

    @Test(arguments: [(500, "models: expected a string, got a list"), (100_000, "Maximum nesting level")])
    func deepNestingIsAnErrorNotAStackOverflow(depth: Int, fragment: String) throws {
        let text = "description: d\nmodels: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let message = try #require(parseError(text))
        #expect(message.hasPrefix("test.yaml:2:10: "), "\(message)")
        #expect(message.contains(fragment), "\(message)")
    }

    static let alphabet: [Character] = Array(":-{}[],#&*!|>'\"%@`?~ \t\n\r\\") + Array("az09.e") + ["é", "\u{FEFF}", "😀"]

    static func mutate(_ text: String, _ random: inout SplitMix64) -> String {
        var characters = Array(text)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        switch random.nextIndex(below: 8) {
        case 0 where !characters.isEmpty:  // delete a run of characters
            let start = random.nextIndex(below: characters.count)
            characters.removeSubrange(start..<min(characters.count, start + 1 + random.nextIndex(below: 4)))
            return String(characters)
        case 1:  // insert characters
            let at = random.nextIndex(below: characters.count + 1)
            let inserted = (0...random.nextIndex(below: 3)).map { _ in alphabet[random.nextIndex(below: alphabet.count)] }
            characters.insert(contentsOf: inserted, at: at)
            return String(characters)
        case 2 where !characters.isEmpty:  // replace a character
            characters[random.nextIndex(below: characters.count)] = alphabet[random.nextIndex(below: alphabet.count)]
            return String(characters)
        case 3:  // truncate
            return String(characters.prefix(random.nextIndex(below: characters.count + 1)))
        case 4:  // duplicate a line
            let index = random.nextIndex(below: lines.count)
            lines.insert(lines[index], at: index)
            return lines.joined(separator: "\n")
        case 5 where lines.count > 1:  // swap two lines
            lines.swapAt(random.nextIndex(below: lines.count), random.nextIndex(below: lines.count))
            return lines.joined(separator: "\n")
        case 6:  // indent a line more
            let index = random.nextIndex(below: lines.count)
            lines[index] = String(repeating: " ", count: 1 + random.nextIndex(below: 4)) + lines[index]
            return lines.joined(separator: "\n")
        default:  // indent a line less
            let index = random.nextIndex(below: lines.count)
            let leading = lines[index].prefix { $0 == " " }.count
            lines[index] = String(lines[index].dropFirst(min(2, leading)))
            return lines.joined(separator: "\n")
        }
    }
}
