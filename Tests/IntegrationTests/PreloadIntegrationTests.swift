import Foundation
import Logging
import Proxy
import TestSupport
import Testing

/// `hooks.on_startup.preload` and `unloadTimeout` with real child processes.
@Suite(.timeLimit(.minutes(2)))
struct PreloadIntegrationTests {
    /// Two models of a side-by-side group, one named by its alias: both run and are idle once `preload()` returns;
    /// the third model is not started.
    @Test func preloadStartsTheListedModelsInOrder() async throws {
        let fixture = try ChildModelsFixture(models: ["a", "b", "c"])
        let supervisor = try fixture.supervisor(
            extra: """
                groups:
                  pair: {swap: false, exclusive: false, members: [a, b]}
                hooks:
                  on_startup:
                    preload: [b, a]
                """)
        await supervisor.preload()
        let running = await supervisor.running()
        #expect(running.map(\.id) == ["a", "b"], "\(running)")
        #expect(running.allSatisfy { $0.phase == .ready && $0.inFlight == 0 }, "\(running)")
        let lines = supervisor.logs.snapshot().filter { $0.contains("preloading model") }
        #expect(lines.count == 2 && lines[0].hasSuffix("preloading model: b") && lines[1].hasSuffix("preloading model: a"))
        await supervisor.shutdown()
    }

    /// The supervisor's service preloads at start, in the background.
    @Test func theServicePreloadsAtStart() async throws {
        let fixture = try ChildModelsFixture(models: ["a"])
        let supervisor = try fixture.supervisor(extra: "hooks:\n  on_startup:\n    preload: [a]\n")
        let service = Task { try await SupervisorService(supervisor: supervisor).run() }
        try await untilHolds { await supervisor.running().first?.phase == .ready }
        service.cancel()
        await supervisor.shutdown()
        _ = await service.result
    }
}

/// `unloadTimeout`: a model that ignores SIGTERM is killed after its own timeout, not the default 5 s.
@Suite(.timeLimit(.minutes(2)))
struct UnloadTimeoutIntegrationTests {
    @Test(arguments: [
        ("unloadTimeout: 1\n", ""),  // global
        ("", "    unloadTimeout: 1\n"),  // the model's own
    ])
    func aStopIsForcedAfterTheUnloadTimeout(global: String, model: String) async throws {
        let port = try freePort()
        let yaml =
            global + """
                models:
                  stubborn:
                    cmd: /bin/sh -c "trap '' TERM; while true; do sleep 0.05; done"
                    proxy: http://127.0.0.1:\(port)
                    checkEndpoint: none

                """ + model
        let (config, warnings) = try ConfigLoader.load(yaml: yaml, file: "config.yaml")
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
        let supervisor = Supervisor(
            config: config, logger: Logger(label: "unload-timeout") { _ in SwiftLogNoOpLogHandler() },
            processOptions: Supervisor.ProcessOptions(stopGrace: .seconds(5)))
        try await supervisor.acquire(model: "stubborn", progress: { _ in }).release()
        let pid = try #require(await supervisor.running().first?.pid)
        // Ready at once (no health check): wait until the shell has run its `trap` before it gets SIGTERM.
        try await untilHolds { ignoresSIGTERM(pid) }
        let clock = ContinuousClock()
        let began = clock.now
        try await supervisor.unload("stubborn")
        let took = clock.now - began
        #expect(!isAlive(pid))
        // SIGTERM is ignored, so the stop takes the whole timeout: 1 s, not the 5 s default.
        #expect(took >= .milliseconds(900) && took < .seconds(1) + TimingSlack.scaled(.seconds(2)), "\(took)")
        await supervisor.shutdown()
    }
}

/// Whether the process ignores SIGTERM (`SigIgn` in `/proc/PID/status`, bit 15 - 1).
private func ignoresSIGTERM(_ pid: Int32) -> Bool {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return false }
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("SigIgn:") {
        let mask = UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
        return mask & (1 << 14) != 0
    }
    return false
}
