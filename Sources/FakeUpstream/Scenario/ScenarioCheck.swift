import LocatedYAML

/// What `harness check FILE…` does: parse every scenario file named (or found below a named directory), one
/// result line per file, and an exit code a script can test.
///
/// Output, one line per file:
/// ```
/// ok   Scenarios/slow-prefill.yaml — llama-server spends 95 s in prompt processing
/// Scenarios/typo.yaml:12:7: unknown key 'stauts' in step; expected one of: …; did you mean 'status'?
/// ```
/// Exit code 0 when every file parsed, 2 otherwise (also when a path is missing or a directory holds no scenarios).
public enum ScenarioCheck {
    /// The result for one file (or for a path that could not be read).
    public struct FileResult: Sendable, Hashable {
        /// The file's path as shown (a directory argument joined with the file's relative path).
        public var path: String
        /// The scenario's description when it parsed, or the error text (`file:line:column: message`) when not.
        public var outcome: Result<String, Problem>

        /// An error message for a file that did not parse or could not be read.
        public struct Problem: Error, Sendable, Hashable {
            /// The whole line to print: `file:line:column: message`, or `path: why it cannot be read`.
            public var message: String
            /// The error the message was made from (a `LocatedError`, a `ScenarioLoader.Failure`); not part of
            /// equality, which compares the line printed.
            public var underlying: (any Error)? = nil

            public static func == (lhs: Self, rhs: Self) -> Bool { lhs.message == rhs.message }

            public func hash(into hasher: inout Hasher) { hasher.combine(message) }
        }

        /// The line `harness check` prints for this file.
        public var line: String {
            switch outcome {
            case .success(let description): "ok   \(path) — \(description)"
            case .failure(let problem): problem.message
            }
        }

        /// Whether the file parsed.
        public var isOK: Bool {
            if case .success = outcome { return true }
            return false
        }
    }

    /// Everything `harness check` reports.
    public struct Report: Sendable, Hashable {
        /// One result per file, in the order the paths were given (files of a directory sorted by path).
        public var results: [FileResult]

        /// The lines to print, in order.
        public var lines: [String] { results.map(\.line) }

        /// 0 when every file parsed, 2 otherwise (also when there was nothing to check), as the README promises.
        public var exitCode: Int32 { results.allSatisfy(\.isOK) && !results.isEmpty ? 0 : 2 }
    }

    /// Checks every path in order: a file, or a directory (its `*.yaml`/`*.yml` files, recursively, by path).
    public static func run(paths: [String]) -> Report {
        var results: [FileResult] = []
        for path in paths {
            let files: [String]
            do {
                files = try ScenarioLoader.files(at: path)
            } catch {
                let problem = FileResult.Problem(message: error.description, underlying: error)
                results.append(FileResult(path: path, outcome: .failure(problem)))
                continue
            }
            for file in files { results.append(check(file: file)) }
        }
        return Report(results: results)
    }

    /// Checks one file.
    public static func check(file: String) -> FileResult {
        do {
            let scenario = try ScenarioParser.parse(yaml: try ScenarioLoader.read(file), file: file)
            return FileResult(path: file, outcome: .success(scenario.description))
        } catch let error as LocatedError {
            return FileResult(path: file, outcome: .failure(.init(message: error.description, underlying: error)))
        } catch {
            return FileResult(path: file, outcome: .failure(.init(message: "\(error)", underlying: error)))
        }
    }
}
