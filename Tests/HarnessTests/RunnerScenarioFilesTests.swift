import FakeUpstream
import Foundation
import TestSupport
import Testing

@testable import Harness

/// Every file in `Scenarios/` (recorded ones included) through the same runner as `harness replay`: client → the
/// real proxy (in process, real sockets) → the fake, at 1/100 of real time: each file's expectations must hold.
@Suite struct RunnerScenarioFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let scale = 0.01

    static let files: [String] = {
        let directory = root.appendingPathComponent("Scenarios").path
        let all = (try? ScenarioLoader.files(at: directory)) ?? []
        return all.map { String($0.dropFirst(root.path.count + 1)) }
    }()

    @Test func thereAreScenarioFiles() {
        #expect(Self.files.count >= 20)
        #expect(Self.files.contains("Scenarios/slow-prefill.yaml"))
    }

    /// One file at a time: real-time behaviour at 1/100 scale must not compete with the other files for 2 cores.
    @Test(.serialized, arguments: files)
    func replays(file: String) async throws {
        let path = Self.root.appendingPathComponent(file).path
        let scenario = try ScenarioParser.parse(yaml: try ScenarioLoader.read(path), file: file)
        // 400 ms of slack on every timing check: other builds and tests share the 2 cores.
        let result = try await ReplayRunner.run(
            scenario,
            options: ReplayOptions(
                timeScale: Self.scale, topology: .proxied(InProcessProxyLauncher()), slack: TimingSlack.scaled(.milliseconds(400))))
        #expect(result.verdict != .fail, "\(result.verdictLine)\n\(result.details)")
        #expect(result.outcome.kind != "undecided", "\(result.verdictLine)")
        for expectation in result.expectations {
            if case .skipped(let why) = expectation.status {
                Issue.record("\(file): expect.\(expectation.key) skipped through the proxy: \(why)")
            }
        }
    }
}
