import FakeUpstream
import Foundation
import LocatedYAML
import Proxy
import Testing
import Yams

/// Errors made from other errors keep them as `underlying`, while their message stays what the user reads.
@Suite struct ErrorCauseTests {
    @Test func anUnreadableConfigKeepsTheFileSystemError() {
        do {
            _ = try ConfigLoader.load(contentsOf: "/nonexistent/config.yaml", environment: [:])
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/config.yaml:1:1: cannot read the config file: "))
            #expect(error.underlying != nil)
        }
    }

    @Test func anUnsplittableCommandKeepsTheSplitterError() {
        do {
            _ = try ConfigLoader.load(yaml: "models:\n  a:\n    cmd: run 'unclosed\n", file: "c.yaml", environment: [:])
            Issue.record("an unclosed quote loaded")
        } catch {
            #expect(error.location == SourceLocation(file: "c.yaml", line: 3, column: 10))
            #expect(error.underlying is CommandLineSplitter.Failure)
        }
    }

    @Test(arguments: ["models: [\n", "models:\n  a: 1\n  a: 2\n"])
    func configSyntaxErrorsKeepLibyamlsError(yaml: String) {
        do {
            _ = try ConfigLoader.load(yaml: yaml, file: "c.yaml", environment: [:])
            Issue.record("malformed YAML loaded")
        } catch {
            #expect(error.underlying is YamlError)
        }
    }

    /// `harness check`'s report line is the parser's message, and the problem keeps the parser's error.
    @Test func aScenarioCheckProblemKeepsTheLocatedError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cause-\(UUID()).yaml").path
        try "description: d\nstrict: yes\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = ScenarioCheck.check(file: path)
        guard case .failure(let problem) = result.outcome else {
            Issue.record("'strict: yes' passed the check")
            return
        }
        #expect(problem.message == "\(path):2:9: strict: expected true or false, got 'yes'")
        #expect((problem.underlying as? LocatedError)?.location.line == 2)
    }
}
