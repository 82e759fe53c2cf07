import Foundation
import LocatedYAML
import Testing

@testable import Proxy

/// llama-swap's `-config-dir`: files merged in name order after `-config`, named entities unique across files,
/// other mappings merged, lists concatenated, conflicting scalars refused with the later file's place.
@Suite struct ConfigDirTests {
    /// Writes `files` (name → text) into a fresh directory and returns its path.
    static func directory(_ files: [String: String]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return url.path
    }

    @Test func filesMergeInNameOrderAfterTheConfigFile() throws {
        let main = try Self.directory(["main.yaml": "healthCheckTimeout: 30\napiKeys: [k1]\nmodels:\n  a: {cmd: \"s --port ${PORT}\"}\n"])
        let dir = try Self.directory([
            "20-b.yaml": "models:\n  b: {cmd: \"s --port ${PORT}\"}\napiKeys: [k3]\n",
            "10-c.yml": "models:\n  c: {cmd: \"s --port ${PORT}\"}\napiKeys: [k2]\nhealthCheckTimeout: 30\n",
            "empty.yaml": "# only a comment\n",
            "notes.txt": "models: [not yaml config]\n",
        ])
        try FileManager.default.createDirectory(atPath: dir + "/sub.yaml", withIntermediateDirectories: true)
        let (config, warnings) = try ConfigLoader.load(configFile: main + "/main.yaml", configDir: dir)
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
        #expect(config.models.keys.sorted() == ["a", "b", "c"])
        #expect(config.apiKeys == ["k1", "k2", "k3"], "lists concatenate in source order")
        #expect(config.healthCheckTimeout == .seconds(30))
        // Ports follow the merged model ids, as with one file.
        #expect(Set(config.models.values.compactMap(\.port)).count == 3)
    }

    @Test func aDirectoryAloneIsAConfig() throws {
        let dir = try Self.directory(["a.yaml": "models:\n  a: {cmd: \"s --port ${PORT}\"}\n", "b.yaml": "startPort: 7000\n"])
        let (config, _) = try ConfigLoader.load(configFile: nil, configDir: dir)
        #expect(config.models["a"]?.port == 7000)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var files: [String: String]
        /// The error's file (a name in `files`), line and column, and the start of its message.
        var file: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(
            name: "a model in two files", files: ["1.yaml": "models:\n  a: {cmd: x}\n", "2.yaml": "models:\n  a: {cmd: y}\n"],
            file: "2.yaml", line: 2, column: 3, message: "duplicate models 'a': already defined at "),
        ErrorCase(
            name: "a group in two files under routing",
            files: [
                "1.yaml": "routing:\n  router:\n    settings:\n      groups:\n        g: {members: [a]}\n",
                "2.yaml": "routing:\n  router:\n    settings:\n      groups:\n        g: {members: [b]}\n",
            ], file: "2.yaml", line: 5, column: 9, message: "duplicate groups 'g'"),
        ErrorCase(
            name: "different scalars", files: ["1.yaml": "startPort: 7000\n", "2.yaml": "startPort: 7001\n"],
            file: "2.yaml", line: 1, column: 12, message: "conflict at startPort: a different value than the one at "),
        ErrorCase(
            name: "a mapping against a list", files: ["1.yaml": "macros: {a: b}\n", "2.yaml": "macros: [a]\n"],
            file: "2.yaml", line: 1, column: 9, message: "conflict at macros: a different kind of value"),
        ErrorCase(
            name: "a top level that is not a mapping", files: ["1.yaml": "startPort: 1\n", "2.yaml": "- a\n"],
            file: "2.yaml", line: 1, column: 1, message: "the top level must be a mapping"),
        ErrorCase(
            name: "errors after the merge keep their file", files: ["1.yaml": "models: {}\n", "2.yaml": "globalTTL: soon\n"],
            file: "2.yaml", line: 1, column: 12, message: "globalTTL"),
    ]

    @Test(arguments: errorCases) func mergeErrorsNameTheFileAndPlace(_ testCase: ErrorCase) throws {
        let dir = try Self.directory(testCase.files)
        let error = try #require(throws: LocatedError.self) {
            try ConfigLoader.load(configFile: nil, configDir: dir)
        }
        #expect(error.location.file.hasSuffix("/" + testCase.file), "\(error)")
        #expect(error.location.line == testCase.line && error.location.column == testCase.column, "\(error)")
        #expect(error.message.hasPrefix(testCase.message), "\(error)")
    }

    @Test func theConfigFileInsideTheDirectoryAndAnEmptyDirectoryAreErrors() throws {
        let dir = try Self.directory(["config.yaml": "models: {}\n"])
        let twice = try #require(throws: LocatedError.self) {
            try ConfigLoader.load(configFile: dir + "/config.yaml", configDir: dir)
        }
        #expect(twice.message.contains("is also present in -config-dir"))
        let empty = try Self.directory([:])
        let none = try #require(throws: LocatedError.self) { try ConfigLoader.load(configFile: nil, configDir: empty) }
        #expect(none.message.contains("holds no .yaml or .yml file"))
    }
}
