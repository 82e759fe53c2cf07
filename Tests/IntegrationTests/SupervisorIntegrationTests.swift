import FakeUpstream
import Foundation
import Logging
import NIOConcurrencyHelpers
import Proxy
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Real `harness serve` children under a real `Supervisor`: processes, ports, signals and health checks.
@Suite(.timeLimit(.minutes(2)))
struct SupervisorIntegrationTests {
    @Test func startsOnDemandAndLeavesNoChildAfterShutdown() async throws {
        let fixture = try Fixture()
        let model = try fixture.harnessModel("llama")
        let supervisor = fixture.supervisor([model])
        #expect(await supervisor.running().isEmpty, "nothing may start before a request")

        let lease = try await supervisor.acquire(model: "llama", progress: { _ in })
        let running = await supervisor.running()
        let pid = try #require(running.first?.pid)
        #expect(running.map(\.id) == ["llama"] && running.first?.phase == .ready && running.first?.inFlight == 1)
        #expect(lease.upstream == model.upstream)
        #expect(isAlive(pid))
        // setpriv (parent-death signal) execs the command in place: the pid is the server's own.
        #expect(commandLine(of: pid).first == BuiltProducts.path(of: "harness"))
        #expect(await HealthProbe().check(model.upstream, path: "/__harness/health", timeout: .seconds(5)) == .healthy)
        // The child's output reaches the log through a reader task, which a busy machine runs late: wait for it.
        try await waitUntil("the child's listening line") {
            supervisor.logs.snapshot().contains { $0.hasPrefix("[llama]") && $0.contains("listening on") }
        }

        lease.release()
        await supervisor.shutdown()
        #expect(!isAlive(pid), "the child outlived shutdown")
        #expect(await supervisor.running().isEmpty)
        guard case .failure(.shuttingDown) = await acquire(supervisor, "llama") else {
            Issue.record("a request after shutdown must be refused")
            return
        }
    }

    @Test func waitsForTheHealthCheckAndReportsProgress() async throws {
        let fixture = try Fixture()
        let model = try fixture.harnessModel(
            "slow", health: "health: {states: [{status: 503, for: 1s}, {status: 200}]}")
        let supervisor = fixture.supervisor([model])
        let messages = NIOLockedValueBox<[String]>([])
        let clock = ContinuousClock()
        let begin = clock.now
        let lease = try await supervisor.acquire(
            model: "slow", progress: { step in messages.withLockedValue { $0.append(step.message) } })
        let waited = clock.now - begin
        #expect(waited >= .milliseconds(900), "ready after \(waited) although /health said 503 for 1 s")
        #expect(messages.withLockedValue { $0.first } == "starting slow")
        lease.release()
        await supervisor.shutdown()
    }

    @Test func swapsTwoModelsOfOneGroup() async throws {
        let fixture = try Fixture()
        let models = [try fixture.harnessModel("a"), try fixture.harnessModel("b")]
        let supervisor = fixture.supervisor(models, groups: [GroupConfig(id: "pair", members: ["a", "b"])])
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        let pidA = try #require(await supervisor.running().first?.pid)
        let lease = try await supervisor.acquire(model: "b", progress: { _ in })
        #expect(await supervisor.running().map(\.id) == ["b"])
        #expect(!isAlive(pidA), "a must be stopped before b starts")
        lease.release()
        await supervisor.shutdown()
    }

    @Test func exclusiveGroupEvictsOthersButNotPersistentOnes() async throws {
        let fixture = try Fixture()
        let models = try ["a", "b", "side", "keep"].map { try fixture.harnessModel($0) }
        let groups = [
            GroupConfig(id: "main", swap: true, exclusive: true, members: ["a", "b"]),
            GroupConfig(id: "tools", swap: false, exclusive: false, members: ["side"]),
            GroupConfig(id: "pinned", swap: false, exclusive: false, persistent: true, members: ["keep"]),
        ]
        let supervisor = fixture.supervisor(models, groups: groups)
        try await supervisor.acquire(model: "keep", progress: { _ in }).release()
        try await supervisor.acquire(model: "side", progress: { _ in }).release()
        #expect(await supervisor.running().map(\.id) == ["keep", "side"])
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        #expect(await supervisor.running().map(\.id) == ["a", "keep"])
        try await supervisor.acquire(model: "b", progress: { _ in }).release()
        #expect(await supervisor.running().map(\.id) == ["b", "keep"])
        await supervisor.shutdown()
    }

    @Test func concurrentFirstRequestsShareOneProcess() async throws {
        let fixture = try Fixture()
        let model = try fixture.harnessModel(
            "llama", health: "health: {states: [{status: 503, for: 500ms}, {status: 200}]}")
        let supervisor = fixture.supervisor([model])
        let leases = try await withThrowingTaskGroup(of: UpstreamLease.self) { group in
            for _ in 0..<6 { group.addTask { try await supervisor.acquire(model: "llama", progress: { _ in }) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(leases.count == 6)
        let running = await supervisor.running()
        #expect(running.first?.inFlight == 6)
        // The child's output reaches the log through a reader task, which a busy machine runs late (the line was not
        // there yet once, under load): wait for the first line; one start is also counted below, synchronously.
        func listening() -> [String] {
            supervisor.logs.snapshot().filter { $0.hasPrefix("[llama]") && $0.contains("listening on") }
        }
        try await waitUntil("the child's listening line") { !listening().isEmpty }
        #expect(
            listening().count == 1,
            "one process must have started: \(listening()); the log: \(supervisor.logs.snapshot().suffix(30))")
        let starts = supervisor.logs.snapshot().filter { $0.hasPrefix("[proxy] starting llama") }
        #expect(starts.count == 1)
        for lease in leases { lease.release() }
        await supervisor.shutdown()
    }

    @Test func idleModelIsUnloadedAfterItsTTL() async throws {
        let fixture = try Fixture()
        var model = try fixture.harnessModel("llama")
        model.ttl = .milliseconds(500)
        let supervisor = fixture.supervisor([model])
        let lease = try await supervisor.acquire(model: "llama", progress: { _ in })
        let pid = try #require(await supervisor.running().first?.pid)
        let clock = ContinuousClock()
        let released = clock.now
        lease.release()
        try await waitUntil("the ttl unload") { await supervisor.running().isEmpty }
        let idle = clock.now - released
        #expect(idle >= .milliseconds(450), "unloaded after \(idle), before its ttl")
        #expect(!isAlive(pid))
        await supervisor.shutdown()
    }

    @Test func crashedChildRestartsOnTheNextRequest() async throws {
        let fixture = try Fixture()
        let supervisor = fixture.supervisor([try fixture.harnessModel("llama")])
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        let pid = try #require(await supervisor.running().first?.pid)
        #expect(kill(pid, SIGKILL) == 0)
        try await waitUntil("the crash to be noticed") { await supervisor.running().isEmpty }
        let lease = try await supervisor.acquire(model: "llama", progress: { _ in })
        let newPID = try #require(await supervisor.running().first?.pid)
        #expect(newPID != pid)
        #expect(isAlive(newPID))
        lease.release()
        await supervisor.shutdown()
        #expect(!isAlive(newPID))
    }

    @Test func neverHealthyTimesOutAndStopsTheChild() async throws {
        let fixture = try Fixture()
        let model = try fixture.harnessModel("stuck", health: "health: {states: [{status: 503}]}")
        let timeout = Duration.milliseconds(1500)
        let supervisor = fixture.supervisor([model], healthCheckTimeout: timeout)
        let clock = ContinuousClock()
        let begin = clock.now
        let watcher = Task { () -> Int32? in
            while !Task.isCancelled {
                if let pid = await supervisor.running().first?.pid { return pid }
                await Task.yield()
            }
            return nil
        }
        let result = await acquire(supervisor, "stuck")
        let took = clock.now - begin
        watcher.cancel()
        guard case .failure(.failed(.healthCheckTimedOut(let id, let after))) = result else {
            Issue.record("expected healthCheckTimedOut, got \(result)")
            return
        }
        #expect(id == "stuck" && after == timeout)
        #expect(took >= timeout - .milliseconds(100) && took < timeout + .seconds(6), "gave up after \(took)")
        if let pid = await watcher.value { #expect(!isAlive(pid), "a child that never became healthy must be stopped") }
        #expect(await supervisor.running().isEmpty)
        #expect(UpstreamAcquireError.failed(.healthCheckTimedOut(model: id, after: after)).openAIError.code == 504)
        await supervisor.shutdown()
    }

    @Test func missingExecutableIsAReadableStartFailure() async throws {
        let fixture = try Fixture()
        let model = ModelConfig(
            id: "ghost", command: ["/nonexistent/llama-server", "--port", "1"],
            upstream: UpstreamURL(host: "127.0.0.1", port: 1))
        let supervisor = fixture.supervisor([model])
        guard case .failure(.failed(.startFailed(let id, let detail))) = await acquire(supervisor, "ghost") else {
            Issue.record("expected startFailed")
            return
        }
        #expect(id == "ghost")
        #expect(detail.contains("/nonexistent/llama-server") && detail.contains("no such file"), "\(detail)")
        await supervisor.shutdown()
    }

    @Test func childThatExitsWhileStartingFailsFastWithItsLastWords() async throws {
        let fixture = try Fixture()
        let model = ModelConfig(
            id: "crashy", command: ["/bin/sh", "-c", "echo 'error: model file not found' >&2; exit 3"],
            upstream: UpstreamURL(host: "127.0.0.1", port: try freePort()))
        let supervisor = fixture.supervisor([model])
        let clock = ContinuousClock()
        let begin = clock.now
        guard case .failure(.failed(.startFailed(_, let detail))) = await acquire(supervisor, "crashy") else {
            Issue.record("expected startFailed")
            return
        }
        #expect(clock.now - begin < .seconds(10), "must fail fast, not wait for the health timeout (120 s)")
        #expect(detail.contains("exit status 3") && detail.contains("model file not found"), "\(detail)")
        await supervisor.shutdown()
    }

    @Test func stopCommandReplacesSIGTERM() async throws {
        let fixture = try Fixture()
        var model = try fixture.harnessModel("llama")
        model.stopCommand = ["/bin/sh", "-c", "echo \"cmdStop for $1\"; kill -INT \"$1\"", "sh", "${PID}"]
        let supervisor = fixture.supervisor([model])
        try await supervisor.acquire(model: "llama", progress: { _ in }).release()
        let pid = try #require(await supervisor.running().first?.pid)
        #expect(try await supervisor.unload("llama") == ["llama"])
        #expect(!isAlive(pid))
        // cmdStop ran with the child's pid (its output is logged under "llama cmdStop"), harness serve shut down
        // gracefully, and no SIGTERM fallback. The log lines come from reader tasks a busy machine may run late.
        try await waitUntil("cmdStop's line and the child's graceful stop") {
            let logs = supervisor.logs.snapshot()
            return logs.contains("[llama cmdStop] cmdStop for \(pid)")
                && logs.contains { $0.hasPrefix("[llama]") && $0.contains("stopping") }
        }
        #expect(!supervisor.logs.snapshot().contains { $0.contains("sending SIGTERM") })
        await supervisor.shutdown()
    }

    @Test func externalModelIsReadyOnceItsServerAnswers() async throws {
        let fixture = try Fixture()
        let owner = fixture.supervisor([try fixture.harnessModel("real")])
        let upstream = try await owner.acquire(model: "real", progress: { _ in })
        let external = ModelConfig(id: "ext", command: nil, upstream: upstream.upstream)
        let unchecked = ModelConfig(
            id: "blind", command: nil, upstream: UpstreamURL(host: "127.0.0.1", port: try freePort()),
            checkEndpoint: nil)
        let supervisor = fixture.supervisor(
            [external, unchecked],
            groups: [GroupConfig(id: "ext", swap: false, exclusive: false, members: ["ext", "blind"])])
        let lease = try await supervisor.acquire(model: "ext", progress: { _ in })
        #expect(lease.upstream == upstream.upstream)
        try await supervisor.acquire(model: "blind", progress: { _ in }).release()
        #expect(
            await supervisor.running().map { "\($0.id):\($0.pid.map(String.init) ?? "none")" } == [
                "blind:none", "ext:none",
            ])
        lease.release()
        upstream.release()
        await supervisor.shutdown()
        await owner.shutdown()
    }
}

/// Ports the proxy owns: a model's health check may only ever reach its own server, and a child that dies while
/// being polled fails its load at once.
@Suite(.timeLimit(.minutes(2)))
struct SupervisorPortTests {
    /// Another server (answering 200 on /health) holds the port `${PORT}` gives the model. Before: the supervisor
    /// health-checked that server, said ready and leased its address, while its own child exited (bind failed).
    @Test func portModelMovesOffAPortAnotherServerHolds() async throws {
        let fixture = try Fixture()
        let squatter = try await Squatter.start()
        defer { Task { try? await squatter.server.stop() } }
        let scenario = fixture.directory.appendingPathComponent("model.yaml").path
        try "description: model behind a taken port\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let (config, _) = try ConfigLoader.load(
            yaml: """
                startPort: \(squatter.port)
                models:
                  llama:
                    cmd: \(BuiltProducts.path(of: "harness")) serve --scenario \(scenario) --port ${PORT}
                """, file: "config.yaml")
        let supervisor = fixture.supervisor(config)
        let lease = try await supervisor.acquire(model: "llama", progress: { _ in })
        let pid = try #require(await supervisor.running().first?.pid)
        #expect(lease.upstream.port != squatter.port, "leased the squatter's port \(squatter.port)")
        #expect(commandLine(of: pid).suffix(2) == ["--port", "\(lease.upstream.port)"], "\(commandLine(of: pid))")
        #expect(squatter.server.journal.snapshot.connections.isEmpty, "the squatter was health-checked")
        #expect(
            supervisor.logs.snapshot().contains {
                $0.contains("port \(squatter.port) of llama is in use by another process")
                    && $0.contains("on port \(lease.upstream.port)")
            }, "\(supervisor.logs.snapshot().suffix(5))")
        #expect(await HealthProbe().check(lease.upstream, path: "/__harness/health", timeout: .seconds(5)) == .healthy)
        lease.release()
        await supervisor.shutdown()
        #expect(!isAlive(pid))
    }

    /// The port is fixed by `proxy:` (no `${PORT}`), so it cannot move: the start fails and says why, and no child
    /// is started. Before: ready, with the squatter's answers.
    @Test func fixedPortHeldByAnotherServerFailsTheStart() async throws {
        let fixture = try Fixture()
        let squatter = try await Squatter.start()
        defer { Task { try? await squatter.server.stop() } }
        var model = try fixture.harnessModel("fixed")
        model.upstream = UpstreamURL(host: "127.0.0.1", port: squatter.port)
        let supervisor = fixture.supervisor([model])
        guard case .failure(.failed(.startFailed(let id, let detail))) = await acquire(supervisor, "fixed") else {
            Issue.record("expected startFailed; the squatter's health answer must not make the model ready")
            await supervisor.shutdown()
            return
        }
        #expect(id == "fixed")
        #expect(detail.contains("port \(squatter.port)") && detail.contains("in use by another process"), "\(detail)")
        #expect(squatter.server.journal.snapshot.connections.isEmpty, "the squatter was health-checked")
        #expect(!supervisor.logs.snapshot().contains { $0.hasPrefix("[proxy] starting fixed") }, "a child was started")
        await supervisor.shutdown()
    }

    /// The child dies (status 2, as llama-server does when it cannot bind) while the supervisor pauses between
    /// polls. Before: noticed only after the pause (here 5 s); now at once, with the status and its last words.
    @Test func childExitingDuringHealthPollingFailsTheLoadAtOnce() async throws {
        let fixture = try Fixture()
        let model = ModelConfig(
            id: "dies",
            command: ["/bin/sh", "-c", "sleep 0.3; echo 'starting' >&2; echo 'error: couldn'\\''t bind HTTP server socket' >&2; exit 2"],
            upstream: UpstreamURL(host: "127.0.0.1", port: try freePort()))
        let supervisor = fixture.supervisor(
            [model], healthCheckTimeout: .seconds(60), pollInterval: .seconds(5))
        let clock = ContinuousClock()
        let begin = clock.now
        guard case .failure(.failed(.startFailed(_, let detail))) = await acquire(supervisor, "dies") else {
            Issue.record("expected startFailed")
            return
        }
        let took = clock.now - begin
        #expect(took < .milliseconds(2500), "the exit was noticed after \(took), not at once (pause 5 s)")
        #expect(detail.contains("exit status 2"), "\(detail)")
        #expect(detail.hasSuffix("error: couldn't bind HTTP server socket"), "\(detail)")
        await supervisor.shutdown()
    }
}

/// A server that is not the model's, answering 200 on every path, on a port of its own choosing.
private struct Squatter {
    let server: FakeUpstreamServer
    let port: Int

    static func start() async throws -> Squatter {
        let scenario = try ScenarioParser.parse(yaml: "description: someone else's server\n", file: "squatter.yaml")
        let server = FakeUpstreamServer(
            responder: ScenarioResponder(scenarios: [scenario]),
            logger: Logger(label: "squatter") { _ in SwiftLogNoOpLogHandler() })
        return Squatter(server: server, port: try await server.start())
    }
}

/// One `UpstreamProcess` on its own: the transitions the supervisor relies on.
@Suite(.timeLimit(.minutes(1)))
struct SupervisorUpstreamProcessTests {
    @Test func stopWhileStartingFailsTheStartAndLeavesNoChild() async throws {
        let fixture = try Fixture()
        let model = try fixture.harnessModel("stuck", health: "health: {states: [{status: 503}]}")
        let process = UpstreamProcess(
            config: model,
            timing: UpstreamProcess.Timing(healthCheckTimeout: .seconds(60), pollInterval: .milliseconds(50)),
            logs: LogBuffer(), logger: Logger(label: "upstream-process-test") { _ in SwiftLogNoOpLogHandler() })
        let start = Task { () -> UpstreamStartError? in
            do {
                _ = try await process.start(progress: { _ in })
                return nil
            } catch let error as UpstreamStartError {
                return error
            } catch {
                Issue.record("unexpected \(error)")
                return nil
            }
        }
        try await waitUntil("the child to be launched") { await process.processID != nil }
        let pid = try #require(await process.processID)
        #expect(await process.state == .starting)
        await process.stop()
        let failure = await start.value
        #expect(failure?.failure == UpstreamFailure.startFailed(model: "stuck", detail: "stopped while starting"))
        #expect(await process.state == .stopped)
        #expect(!isAlive(pid))
        #expect(await process.processID == nil)
    }
}

/// The kernel's side of "no child outlives the proxy": a command wrapped by `ParentDeathSignal` dies when its parent
/// is SIGKILLed (here a shell stands in for the proxy, which a test cannot kill).
@Suite(.enabled(if: ParentDeathSignal.setprivPath != nil, "needs util-linux setpriv"), .timeLimit(.minutes(1)))
struct SupervisorParentDeathTests {
    @Test func wrappedChildDiesWithItsParent() async throws {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "\"$@\" & echo $!; wait", "sh"] + ParentDeathSignal.wrap(["sleep", "30"])
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let child = try #require(Int32(line.trimmingCharacters(in: .whitespacesAndNewlines)))
        // Once setpriv has exec'd sleep, the death signal is armed.
        try await waitUntil("setpriv to exec the command") { commandLine(of: child).first == "sleep" }
        #expect(kill(shell.processIdentifier, SIGKILL) == 0)
        shell.waitUntilExit()
        try await waitUntil("the kernel to kill the orphan") { isGone(child) }
        #expect(isGone(child))
    }
}

// MARK: - Helpers

/// Scenario files in a temporary directory, and configs whose models run `harness serve` on free ports.
private final class Fixture: Sendable {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("supervisor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A model served by `harness serve` with a scenario whose `/health` is `health` (YAML; default always 200).
    func harnessModel(_ id: String, health: String = "") throws -> ModelConfig {
        let file = directory.appendingPathComponent("\(id).yaml")
        try "description: \"\(id) for supervisor tests\"\n\(health)\n".write(
            to: file, atomically: true, encoding: .utf8)
        let port = try freePort()
        return ModelConfig(
            id: id,
            command: [BuiltProducts.path(of: "harness"), "serve", "--scenario", file.path, "--port", "\(port)"],
            upstream: UpstreamURL(host: "127.0.0.1", port: port))
    }

    func supervisor(
        _ models: [ModelConfig], groups: [GroupConfig]? = nil, healthCheckTimeout: Duration = .seconds(30),
        pollInterval: Duration = .milliseconds(100)
    ) -> Supervisor {
        let config = ProxyConfig(
            healthCheckTimeout: healthCheckTimeout,
            models: Dictionary(uniqueKeysWithValues: models.map { ($0.id, $0) }), groups: groups)
        return supervisor(config, pollInterval: pollInterval)
    }

    func supervisor(_ config: ProxyConfig, pollInterval: Duration = .milliseconds(100)) -> Supervisor {
        Supervisor(
            config: config, logger: Logger(label: "supervisor-integration") { _ in SwiftLogNoOpLogHandler() },
            processOptions: Supervisor.ProcessOptions(
                stopGrace: .seconds(3), pollInterval: pollInterval, pollTimeout: .seconds(2)))
    }
}

private func acquire(_ supervisor: Supervisor, _ model: String) async -> Result<UpstreamLease, UpstreamAcquireError> {
    do {
        return .success(try await supervisor.acquire(model: model, progress: { _ in }))
    } catch {
        return .failure(error)
    }
}

private func commandLine(of pid: Int32) -> [String] {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
    return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
}

/// Waits for `condition`, checking after every short pause, and fails after `timeout` (a state with no event to
/// await, such as a TTL unload seen from outside).
private func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () async -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !(await condition()) {
        guard clock.now < deadline else {
            Issue.record("timed out waiting for \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
