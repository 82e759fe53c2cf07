import Foundation
import LocatedYAML
import Testing

@testable import FakeUpstream

/// A fresh directory under the system temporary directory, removed when the test ends.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `contents` at `relative`, creating folders as needed; returns the full path.
    @discardableResult
    func write(_ relative: String, _ contents: String) throws -> String {
        try write(relative, Data(contents.utf8))
    }

    @discardableResult
    func write(_ relative: String, _ contents: Data) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(to: URL(fileURLWithPath: full))
        return full
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct ScenarioLoaderTests {
    @Test func loadsOneFileWithItsPathAndStem() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("slow-prefill.yaml", "description: slow\n")
        let scenarios = try ScenarioLoader.load(path: file)
        #expect(scenarios.map(\.name) == ["slow-prefill"])
        #expect(scenarios.map(\.file) == [file])
        #expect(scenarios.map(\.description) == ["slow"])
    }

    @Test func loadsEveryYAMLFileBelowADirectorySortedByPath() throws {
        let directory = try TemporaryDirectory()
        try directory.write("b.yaml", "description: b\n")
        try directory.write("a.yml", "description: a\n")
        try directory.write("recorded/z/c.yaml", "description: c\n")
        try directory.write("README.md", "# not a scenario\n")
        try directory.write("scenario.schema.json", "{}")
        let scenarios = try ScenarioLoader.load(path: directory.path + "/")
        #expect(scenarios.map(\.description) == ["a", "b", "c"])
        #expect(scenarios.map(\.file) == ["a.yml", "b.yaml", "recorded/z/c.yaml"].map { directory.path + "/" + $0 })
    }

    @Test func theFirstInvalidFileThrowsItsLocatedError() throws {
        let directory = try TemporaryDirectory()
        try directory.write("a.yaml", "description: a\n")
        let bad = try directory.write("b.yaml", "description: b\nstrict: yes\n")
        #expect(throws: LocatedError("strict: expected true or false, got 'yes'", at: .init(file: bad, line: 2, column: 9))) {
            try ScenarioLoader.load(path: directory.path)
        }
    }

    @Test func unreadablePathsSayWhy() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path + "/nope.yaml"
        #expect(throws: ScenarioLoader.Failure("\(missing): no such file or directory")) {
            try ScenarioLoader.load(path: missing)
        }
        try directory.write("empty/notes.txt", "")
        #expect(throws: ScenarioLoader.Failure("\(directory.path)/empty: no *.yaml or *.yml files in this directory")) {
            try ScenarioLoader.load(path: directory.path + "/empty")
        }
        let binary = try directory.write("binary.yaml", Data([0x64, 0xFF, 0xFE, 0x00]))
        #expect(throws: ScenarioLoader.Failure("\(binary): not UTF-8 text; scenario files must be UTF-8")) {
            try ScenarioLoader.load(path: binary)
        }
    }
}

@Suite struct ScenarioCheckTests {
    @Test func printsOneLinePerFileAndExitsZeroWhenAllParse() throws {
        let directory = try TemporaryDirectory()
        let one = try directory.write("one.yaml", "description: first one\n")
        try directory.write("dir/two.yaml", "description: second\n")
        try directory.write("dir/three.yml", "description: third\n")
        let report = ScenarioCheck.run(paths: [one, directory.path + "/dir"])
        #expect(
            report.lines == [
                "ok   \(one) — first one",
                "ok   \(directory.path)/dir/three.yml — third",
                "ok   \(directory.path)/dir/two.yaml — second",
            ])
        #expect(report.exitCode == 0)
        #expect(report.results.allSatisfy { $0.isOK })
    }

    @Test func reportsEveryBadFileAndExitsTwo() throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("good.yaml", "description: fine\n")
        let typo = try directory.write(
            "typo.yaml", "description: d\nresponses:\n  - steps:\n      - stauts: 200\n")
        let missing = directory.path + "/missing.yaml"
        let report = ScenarioCheck.run(paths: [typo, missing, good])
        #expect(report.lines.count == 3)
        #expect(report.lines[0].hasPrefix("\(typo):4:9: unknown key 'stauts' in step;"))
        #expect(report.lines[0].hasSuffix("did you mean 'status'?"))
        #expect(report.lines[1] == "\(missing): no such file or directory")
        #expect(report.lines[2] == "ok   \(good) — fine")
        #expect(report.results.map(\.isOK) == [false, false, true])
        #expect(report.exitCode == 2)
    }

    @Test func nothingToCheckIsAFailure() {
        #expect(ScenarioCheck.run(paths: []).exitCode == 2)
    }
}

/// Every scenario in the repository's `Scenarios/` folder parses (one test case per file found).
@Suite struct ScenarioLibraryTests {
    static let files: [String] = {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scenarios").path
        return (try? ScenarioLoader.files(at: folder)) ?? []
    }()

    @Test(arguments: files)
    func parses(file: String) {
        let result = ScenarioCheck.check(file: file)
        #expect(result.isOK, "\(result.line)")
    }
}
