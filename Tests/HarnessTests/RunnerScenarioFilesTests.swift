import FakeUpstream
import Foundation
import TestSupport
import Testing

@testable import Harness

/// Every run of every file in `Scenarios/` (recorded ones included) through the same runner as `harness replay`:
/// client → the real proxy (in process, real sockets) → the fake, each file at its automatic time scale (its
/// shortest heartbeat interval or gap bound takes 0.8 s, so the 200 ms slack stays under a quarter of it). Each
/// run must pass: an unchecked run, a skipped expectation, a gate left shut or a client left waiting all fail.
@Suite struct RunnerScenarioFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// One run of one file.
    struct FileRun: Sendable, CustomTestStringConvertible {
        var file: String
        var run: String?
        var testDescription: String { run.map { "\(file) / \($0)" } ?? file }
    }

    static let files: [String] = {
        let directory = root.appendingPathComponent("Scenarios").path
        let all = (try? ScenarioLoader.files(at: directory)) ?? []
        return all.map { String($0.dropFirst(root.path.count + 1)) }
    }()

    static let runs: [FileRun] = files.flatMap { file -> [FileRun] in
        guard let scenario = try? load(file) else { return [FileRun(file: file, run: nil)] }
        return ReplayRuns.expand(scenario).map { FileRun(file: file, run: $0.name) }
    }

    static func load(_ file: String) throws -> Scenario {
        let path = root.appendingPathComponent(file).path
        return try ScenarioParser.parse(yaml: try ScenarioLoader.read(path), file: file)
    }

    /// Runs at once, at most: each has its own event loops, but 2 cores are shared with other suites, and CPU-heavy
    /// files (10,000 tokens, a megabyte event) must not starve the timers of many others.
    static let limiter = ConcurrencyLimiter(permits: 8)

    @Test func thereAreScenarioFiles() {
        #expect(Self.files.count >= 20)
        #expect(Self.files.contains("Scenarios/slow-prefill.yaml"))
        #expect(Self.runs.count > Self.files.count, "some files must also be replayed with heartbeats on")
    }

    /// Every file's runs, concurrently (at most `limiter`'s permits at a time).
    @Test(arguments: runs)
    func replays(_ fileRun: FileRun) async throws {
        let scenario = try Self.load(fileRun.file)
        let run = try #require(ReplayRuns.expand(scenario).first { $0.name == fileRun.run })
        let scale = ReplayTimeScale.automatic(for: scenario)
        var options = ReplayOptions(timeScale: scale, topology: .proxied(InProcessProxyLauncher()), runName: run.name)
        // Work that does not scale with the run (10,000 events, a megabyte through the proxy) takes several times
        // longer under ThreadSanitizer: the bound's real-time margin stretches with TEST_TIMING_SCALE (1 normally).
        options.realMargin = TimingSlack.scaled(RunBound.realMargin)
        let result = try await Self.limiter.withPermit { [options] in
            try await ReplayRunner.run(run.scenario, options: options)
        }
        #expect(result.verdict == .pass, "\(result.verdictLine)\n\(result.details)")
        #expect(!result.expectations.isEmpty, "\(fileRun.testDescription) checks nothing")
    }
}
