import FakeUpstream
import Foundation
import Logging
import RawHTTP
import TestSupport
import Testing

@testable import Proxy

#if canImport(Glibc)
import Glibc
#endif

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

/// The real `llama-proxy` with llama-swap's flags: `-config-dir` merges two files (models from both), the preload
/// hook starts a model before any request, the start-up profile pins a name, and `PUT /api/profiles/active` switches.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ConfigDirProcessTests {
    @Test func configDirPreloadAndProfilesThroughTheExecutable() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-dir-e2e-\(UUID().uuidString)")
        let configs = directory.appendingPathComponent("conf.d")
        try FileManager.default.createDirectory(at: configs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scenario = directory.appendingPathComponent("answer.yaml").path
        try "description: llama-server defaults\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let harness = BuiltProducts.path(of: "harness")
        let port = try freePort()
        let startPort = try freePortRange(2, avoiding: [port])
        let model = { (id: String) in "  \(id):\n    cmd: \(harness) serve --scenario \(scenario) --port ${PORT}\n" }
        try ("startPort: \(startPort)\nmodels:\n" + model("alpha") + "hooks:\n  on_startup:\n    preload: [alpha]\n")
            .write(to: configs.appendingPathComponent("10-base.yaml"), atomically: true, encoding: .utf8)
        try ("models:\n" + model("beta") + "profiles:\n  p: {pins: {public: beta}}\n  q: {pins: {public: alpha}}\n"
            + "hooks:\n  on_startup:\n    profile: p\n")
            .write(to: configs.appendingPathComponent("20-more.yml"), atomically: true, encoding: .utf8)

        let output = WatchedValue([String]())
        let proxy = try await ChildProcess.launch(
            argv: [BuiltProducts.path(of: "llama-proxy"), "-config-dir", configs.path, "-listen", "127.0.0.1:\(port)"],
            environment: [:],
            onLine: { _, line in output.update { $0.append(line) } },
            onExit: { _ in }
        )
        defer { proxy.signalGroup(SIGKILL) }
        _ = try await output.wait(timeout: .seconds(20), what: "the proxy to listen") { lines in
            lines.contains { $0.contains("llama-proxy listening") }
        }
        let models = try await httpExchange("GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
        #expect(models.bodyText.contains("\"id\":\"alpha\"") && models.bodyText.contains("\"id\":\"beta\""))
        // Preloaded with no request: alpha becomes ready on its own.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        var running = ""
        while clock.now < deadline {
            running = try await httpExchange("GET /running HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
                .bodyText
            if running.contains("\"model\":\"alpha\"") && running.contains("\"state\":\"ready\"") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(running.contains("\"model\":\"alpha\"") && running.contains("\"state\":\"ready\""), "\(running)")

        // The start-up profile p pins public to beta; switching to q pins it to alpha.
        func askPublic() async throws -> String {
            let body = "{\"model\":\"public\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            _ = try await httpExchange(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)", port: port)
            return try await httpExchange("GET /running HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
                .bodyText
        }
        #expect(try await askPublic().contains("\"model\":\"beta\""))
        let body = "{\"name\":\"q\"}"
        let switched = try await httpExchange(
            "PUT /api/profiles/active HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)", port: port)
        #expect(switched.status == 200 && switched.bodyText == "{\"active\":\"q\"}", "\(switched.bodyText)")
        let after = try await askPublic()
        #expect(after.contains("\"model\":\"alpha\"") && !after.contains("\"model\":\"beta\""), "\(after)")

        let exit = await proxy.terminate(grace: .seconds(15))
        #expect(exit == .exited(0), "llama-proxy exit: \(exit)")
    }
}

private func httpExchange(_ request: String, port: Int) async throws -> TimedResponse {
    let client = try await RawTCPClient.connect(port: port)
    _ = try await client.send(request)
    let response = try await client.response(timeout: .seconds(30))
    await client.close()
    return response
}
