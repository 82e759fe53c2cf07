import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import Proxy

/// llama-swap's command line (`-config`, `-listen :8080`, `-watch-config`, …) runs `llama-proxy` unchanged.
@Suite struct CompatCommandLineTests {
    static let normalized: [([String], [String])] = [
        (["-config", "c.yaml"], ["--config", "c.yaml"]),
        (["-config=c.yaml", "-listen=:9090"], ["--config", "c.yaml", "--listen", ":9090"]),
        (["--config=c.yaml"], ["--config", "c.yaml"]),
        (["-listen", ":8080", "-watch-config"], ["--listen", ":8080", "--watch-config"]),
        (["-watch-config=true"], ["--watch-config"]),
        (["-watch-config=false", "-config", "c"], ["--config", "c"]),
        (["-version"], ["--version"]),
        (
            ["-config-dir", "d", "-tls-cert-file", "a.pem", "-tls-key-file", "k.pem"],
            ["--config-dir", "d", "--tls-cert-file", "a.pem", "--tls-key-file", "k.pem"]
        ),
        // Ours stay as they are, values are never rewritten, nor anything after --.
        (["--config", "-config", "--log-level", "debug"], ["--config", "-config", "--log-level", "debug"]),
        (["--shutdown-grace", "5", "--", "-config"], ["--shutdown-grace", "5", "--", "-config"]),
        (["-bogus", "x"], ["-bogus", "x"]),
        (["-watch-config=maybe"], ["-watch-config=maybe"]),
    ]

    @Test(arguments: normalized)
    func llamaSwapFlagsBecomeOurs(arguments: [String], expected: [String]) {
        #expect(ProxyOptions.normalizeArguments(arguments) == expected)
    }

    static let listens: [(String, String?, Int?)] = [
        (":8080", "0.0.0.0", 8080),  // Go: every interface
        ("8080", "127.0.0.1", 8080),
        ("127.0.0.1:9000", "127.0.0.1", 9000),
        ("0.0.0.0:80", "0.0.0.0", 80),
        ("[::1]:8080", "::1", 8080),
        ("localhost:70000", nil, nil),
        ("host:", nil, nil),
    ]

    @Test(arguments: listens)
    func listenAddresses(text: String, host: String?, port: Int?) {
        let parsed = ProxyOptions.parseListen(text)
        #expect(parsed?.host == host)
        #expect(parsed?.port == port)
    }

    @Test func defaultListenStaysLoopback() {
        #expect(ProxyOptions(configPath: "c").host == "127.0.0.1")
        #expect(ProxyOptions(configPath: "c").watchConfig == false)
    }

    /// Each row: the stamps polls see, and after which polls a reload happens.
    static let watches: [([ConfigFileStamp], [Int])] = {
        let a = ConfigFileStamp(modified: 1, size: 10)
        let b = ConfigFileStamp(modified: 2, size: 12)
        let c = ConfigFileStamp(modified: 3, size: 12)
        let gone = ConfigFileStamp(modified: nil, size: nil)
        return [
            ([a, a, a], []),  // unchanged: never
            ([a, b, b], [2]),  // changed, then the same again: reload once
            ([a, b, b, b, b], [2]),  // once per change
            ([a, b, c, c], [3]),  // still being written: wait until it settles
            ([a, b, a, a], []),  // changed back before it settled: nothing to do
            ([a, gone, gone, b, b], [4]),  // a missing file is never loaded; it comes back changed
            ([a, b, b, c, c, a, a], [2, 4, 6]),
        ]
    }()

    @Test(arguments: watches)
    func watcherReloadsASettledChange(stamps: [ConfigFileStamp], reloadsAt: [Int]) {
        var watcher = ConfigFileWatcher()
        let reloads = stamps.enumerated().filter { watcher.observe($0.element) }.map(\.offset)
        #expect(reloads == reloadsAt)
    }

    @Test func stampFollowsTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("compat-\(UUID()).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ConfigFileStamp.of(path: path) == ConfigFileStamp(modified: nil, size: nil))
        try "models: {}\n".write(toFile: path, atomically: false, encoding: .utf8)
        let first = ConfigFileStamp.of(path: path)
        #expect(first.size == 11)
        try "models: {a: {}}\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(ConfigFileStamp.of(path: path) != first)
    }

    /// The service polls on its clock and reloads once a change has settled (driven by a manual clock).
    ///
    /// Each step moves the clock one interval and returns only once the service has polled, reloaded if it would,
    /// and sleeps again with its next deadline exactly one interval on. So a stamp changed between steps is seen by
    /// the next poll and not before, and a count read after a step includes that poll's reload.
    @Test func watchServiceReloadsOnItsClock() async throws {
        let clock = SupervisorManualClock()
        let stamp = NIOLockedValueBox(ConfigFileStamp(modified: 1, size: 1))
        let reloads = NIOLockedValueBox(0)
        let service = ConfigWatchService(
            interval: .seconds(1), clock: clock, stamp: { stamp.withLockedValue { $0 } },
            reload: { reloads.withLockedValue { $0 += 1 } })
        let task = Task { try await service.run() }
        func step(to second: Int64) async throws {
            clock.advance(by: .seconds(1))
            try #require(await clock.waitForDeadlines([.seconds(second + 1)]), "asleep until \(second + 1) s")
        }
        try #require(await clock.waitForDeadlines([.seconds(1)]), "first poll done, asleep until 1 s")
        try await step(to: 1)  // unchanged
        #expect(reloads.withLockedValue { $0 } == 0)
        stamp.withLockedValue { $0 = ConfigFileStamp(modified: 2, size: 3) }
        try await step(to: 2)  // seen once
        #expect(reloads.withLockedValue { $0 } == 0)
        try await step(to: 3)  // seen twice: reload
        #expect(reloads.withLockedValue { $0 } == 1)
        try await step(to: 4)  // still the loaded stamp
        #expect(reloads.withLockedValue { $0 } == 1)
        task.cancel()
        _ = try? await task.value
    }
}
