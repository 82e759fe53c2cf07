import DurationMath
import FakeUpstream
import Logging
import Foundation
import NIOCore
import RawHTTP
import TestSupport
import Testing

@testable import Proxy

#if canImport(Glibc)
import Glibc
#endif

/// The real `llama-proxy` executable with `harness serve` children as its models: start on demand, swap,
/// byte-identical bodies, and SIGTERM leaving no child behind.
@Suite(.serialized) struct ProxyProcessTests {
    @Test func startsSwapsRelaysAndLeavesNoChildAfterSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scenario = directory.appendingPathComponent("answer.yaml").path
        try "description: llama-server defaults\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let harness = BuiltProducts.path(of: "harness")
        let proxyPort = try freePort()
        let startPort = try freePortRange(2, avoiding: [proxyPort])
        func configText(_ ids: [String]) -> String {
            let models = ids.map { "  \($0):\n    cmd: \(harness) serve --scenario \(scenario) --port ${PORT}\n" }
            return "healthCheckTimeout: 15\nstartPort: \(startPort)\nmodels:\n" + models.joined()
                + "groups:\n  one:\n    swap: true\n    members: [alpha, beta]\n"
        }
        let config = configText(["alpha", "beta"])
        let configPath = directory.appendingPathComponent("config.yaml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)

        let output = WatchedValue([String]())
        let proxy = try await ChildProcess.launch(
            argv: [BuiltProducts.path(of: "llama-proxy"), "--config", configPath, "--listen", "127.0.0.1:\(proxyPort)"],
            environment: [:],
            onLine: { _, line in output.update { $0.append(line) } },
            onExit: { _ in }
        )
        _ = try await output.wait(timeout: .seconds(20), what: "the proxy to listen") { lines in
            lines.contains { $0.contains("llama-proxy listening") }
        }

        // On demand: nothing runs until a request names a model.
        #expect(try await get("/running", port: proxyPort).bodyText == "{\"running\":[]}")
        let first = try await post(stream: false, model: "alpha", port: proxyPort)
        #expect(first.status == 200)
        #expect(try await get("/running", port: proxyPort).bodyText.contains("\"model\":\"alpha\""))

        // Byte-identical non-streaming body: the same request straight to alpha's server.
        let direct = try await post(stream: false, model: "alpha", port: startPort)
        #expect(first.body == direct.body)
        #expect(first.header("content-type") == direct.header("content-type"))

        // Swap: beta evicts alpha in the same group; its stream passes through whole.
        let stream = try await post(stream: true, model: "beta", port: proxyPort)
        #expect(stream.status == 200)
        #expect(stream.bodyText.hasSuffix("data: [DONE]\n\n"))
        let running = try await get("/running", port: proxyPort).bodyText
        #expect(running.contains("\"model\":\"beta\"") && !running.contains("alpha"), "\(running)")

        // /logs has the supervisor's lines and the children's output.
        let logs = try await get("/logs", port: proxyPort).bodyText
        #expect(logs.contains("alpha") && logs.contains("listening on"), "\(logs.suffix(400))")

        // SIGHUP reloads the config: a model added to the file is listed without a restart.
        try configText(["alpha", "beta", "gamma"]).write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(kill(proxy.pid, SIGHUP) == 0)
        _ = try await output.wait(timeout: .seconds(10), what: "the reload") { lines in
            lines.contains { $0.contains("config reloaded") || $0.contains("config not reloaded") }
        }
        #expect(output.value.contains { $0.contains("config reloaded") }, "\(output.value.suffix(5))")
        #expect(try await get("/v1/models", port: proxyPort).bodyText.contains("\"id\":\"gamma\""))

        let children = processes(withArgument: scenario)
        #expect(children.count == 1, "one harness child (beta) runs: \(children)")
        let exit = await proxy.terminate(grace: .seconds(15))
        #expect(exit == .exited(0), "llama-proxy exit: \(exit)")
        for pid in children { #expect(isGone(pid), "child \(pid) outlived the proxy") }
        #expect(processes(withArgument: scenario).isEmpty)
    }

    /// `logToStdout`: with `upstream` the model's own output (here `harness serve`'s start line) is copied to the
    /// proxy's stdout and the proxy's own lines reach neither stream; with the default, `proxy`, stdout stays empty and
    /// the proxy's lines are on stderr.
    @Test(arguments: ["upstream", "proxy"])
    func logToStdoutChoosesWhatReachesTheConsole(mode: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-stdout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scenario = directory.appendingPathComponent("answer.yaml").path
        try "description: llama-server defaults\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let proxyPort = try freePort()
        let startPort = try freePortRange(1, avoiding: [proxyPort])
        let configPath = directory.appendingPathComponent("config.yaml").path
        try """
            logToStdout: \(mode)
            healthCheckTimeout: 15
            startPort: \(startPort)
            models:
              alpha:
                cmd: \(BuiltProducts.path(of: "harness")) serve --scenario \(scenario) --port ${PORT}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let stdout = WatchedValue([String]())
        let stderr = WatchedValue([String]())
        let proxy = try await ChildProcess.launch(
            argv: [BuiltProducts.path(of: "llama-proxy"), "--config", configPath, "--listen", "127.0.0.1:\(proxyPort)"],
            environment: [:],
            onLine: { stream, line in (stream == .stdout ? stdout : stderr).update { $0.append(line) } },
            onExit: { _ in }
        )
        defer { for pid in processes(withArgument: scenario) { kill(pid, SIGKILL) } }
        // Listening: polled, since under `upstream` the proxy says nothing.
        let deadline = ContinuousClock.now + .seconds(20)
        while (try? await get("/health", port: proxyPort))?.status != 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await post(stream: false, model: "alpha", port: proxyPort).status == 200)
        let modelLine = "listening on http://127.0.0.1:\(startPort)"
        if mode == "upstream" {
            _ = try await stdout.wait(timeout: .seconds(10), what: "the model's line on stdout") { lines in
                lines.contains { $0.contains(modelLine) }
            }
        } else {
            _ = try await stderr.wait(timeout: .seconds(10), what: "the proxy's lines on stderr") { lines in
                lines.contains { $0.contains("starting model") }
            }
        }
        let exit = await proxy.terminate(grace: .seconds(15))
        #expect(exit == .exited(0), "llama-proxy exit: \(exit)")
        let out = stdout.value, err = stderr.value
        if mode == "upstream" {
            #expect(out.contains { $0.contains(modelLine) }, "\(out.suffix(5))")
            #expect(!out.contains { $0.contains("starting model") || $0.contains("llama-proxy") }, "\(out.suffix(5))")
            #expect(err.isEmpty, "\(err.suffix(5))")
        } else {
            #expect(out.isEmpty, "\(out.suffix(5))")
            #expect(err.contains { $0.contains("llama-proxy listening") }, "\(err.suffix(5))")
            #expect(!err.contains { $0.contains(modelLine) }, "\(err.suffix(5))")
        }
    }

    /// The proxy as an ordinary user serves requests (every other test runs as root, which may set any socket
    /// option: a `SO_DEBUG` set by mistake made each accepted connection fail with `EACCES` for anyone else, so
    /// the proxy reset every client), relays to a running upstream and to a model it starts itself, and stops that
    /// model on SIGTERM. Runs when the tests are root and `setpriv` can drop to `nobody`; the executables are linked
    /// where `nobody` can reach them (a clone may sit in a private directory). SocketOptionsTests checks the options
    /// themselves on every run.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func servesWhenRunByAnUnprivilegedUser() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-nobody-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        // The executables, linked (or copied) where nobody can reach them.
        func readable(_ product: String) throws -> String {
            let path = directory.appendingPathComponent(product).path
            do {
                try FileManager.default.linkItem(atPath: BuiltProducts.path(of: product), toPath: path)
            } catch {
                try FileManager.default.copyItem(atPath: BuiltProducts.path(of: product), toPath: path)
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            return path
        }
        let binary = try readable("llama-proxy")
        let harness = try readable("harness")
        let scenario = directory.appendingPathComponent("answer.yaml").path
        try "description: llama-server defaults\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: scenario)

        let fake = FakeUpstreamServer(
            responder: ScenarioResponder(scenarios: [try ScenarioParser.parse(yaml: "description: llama-server defaults\n", file: "inline.yaml")]),
            logger: Logger(label: "nobody-upstream", factory: { _ in SwiftLogNoOpLogHandler() }))
        let upstreamPort = try await fake.start()
        defer { Task { try? await fake.stop() } }
        let configPath = directory.appendingPathComponent("config.yaml").path
        // `m`: an upstream already running; `spawned`: a model the proxy starts, as nobody, on demand.
        let startPort = try freePortRange(1)
        try """
            startPort: \(startPort)
            models:
              m:
                proxy: http://127.0.0.1:\(upstreamPort)
              spawned:
                cmd: \(harness) serve --scenario \(scenario) --port ${PORT}

            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: configPath)

        // A sanitizer build reads its suppressions file as the user it runs as: nobody gets a copy it can read.
        var environment: [String: String] = [:]
        if let options = ProcessInfo.processInfo.environment["TSAN_OPTIONS"] {
            environment["TSAN_OPTIONS"] = try options.split(separator: " ").map { item in
                guard item.hasPrefix("suppressions=") else { return String(item) }
                let copy = directory.appendingPathComponent("tsan.supp").path
                try FileManager.default.copyItem(atPath: String(item.dropFirst("suppressions=".count)), toPath: copy)
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: copy)
                return "suppressions=" + copy
            }.joined(separator: " ")
        }

        let proxyPort = try freePort()
        let output = WatchedValue([String]())
        let proxy = try await ChildProcess.launch(
            argv: [
                "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "--config", configPath,
                "--listen", "127.0.0.1:\(proxyPort)",
            ],
            environment: environment,
            onLine: { _, line in output.update { $0.append(line) } },
            onExit: { _ in }
        )
        var exited = false
        defer { if !exited { kill(proxy.pid, SIGKILL) } }
        _ = try await output.wait(timeout: .seconds(20), what: "the proxy to listen as nobody") { lines in
            lines.contains { $0.contains("llama-proxy listening") }
        }
        #expect(try await get("/health", port: proxyPort).status == 200, "\(output.value)")
        for model in ["m", "spawned"] {
            let relayed = try await get("/upstream/\(model)/health", port: proxyPort)
            #expect(relayed.status == 200, "\(model): \(output.value)")
            #expect(relayed.bodyText == "{\"status\":\"ok\"}", "\(model)")
        }
        let children = processes(withArgument: scenario)
        #expect(children.count == 1, "the spawned model runs: \(children)")
        #expect(kill(proxy.pid, SIGTERM) == 0)
        #expect(await proxy.waitForExit() == .exited(0), "\(output.value)")
        exited = true
        for pid in children { #expect(isGone(pid), "model \(pid) outlived the proxy") }
    }
}

/// SIGTERM timing with the real executable (issue 12): what holds a shutdown and for how long.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ProxyShutdownTests {
    /// Before: one `/logs/stream` client held SIGTERM for the whole grace (10 s), then was cut off, and the models
    /// stopped only then. Now the log stream ends at once (its chunked body completes) and the exit follows.
    @Test func sigtermWithAnOpenLogStreamAndIdleModelsExitsWithinOneSecond() async throws {
        let run = try await ProxyRun.launch(scenario: "description: llama-server defaults\n", models: ["alpha", "beta"], grace: 10)
        defer { run.cleanUp() }
        #expect(try await post(stream: false, model: "alpha", port: run.port).status == 200)
        #expect(try await post(stream: false, model: "beta", port: run.port).status == 200)
        let children = processes(withArgument: run.scenario)
        #expect(children.count == 2, "both models run: \(children)")

        let follower = try await RawTCPClient.connect(port: run.port)
        _ = try await follower.send("GET /logs/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        try await follower.waitFor("the log stream's head") { TimedResponse($0) != nil }

        let clock = ContinuousClock()
        let sent = clock.now
        #expect(kill(run.proxy.pid, SIGTERM) == 0)
        let exit = await run.proxy.waitForExit()
        let took = clock.now - sent
        #expect(exit == .exited(0), "llama-proxy exit: \(exit)")
        // Issue 12's acceptance: under 1 s. Under ThreadSanitizer (TEST_TIMING_SCALE=5, every process several times
        // slower) the bound stretches to 5 s: still half of the 10 s grace a log client used to hold.
        #expect(took < TimingSlack.scaled(.seconds(1)), "exit took \(took) after SIGTERM with an open /logs/stream and idle models")
        let stream = try #require(TimedResponse(try await follower.waitFor("the log stream's end") { $0.ending != nil }))
        #expect(stream.complete, "the /logs/stream body must end with its last chunk, not be cut off")
        for pid in children { #expect(isGone(pid), "model \(pid) outlived the proxy") }
        await follower.close()
    }

    /// A stream in flight keeps the proxy until it ends, when that is before the grace…
    @Test func sigtermWaitsForAStreamInFlightUntilItsEnd() async throws {
        // 24 tokens at 16/s: the stream lasts about 1.5 s.
        let run = try await ProxyRun.launch(scenario: Self.streaming(tokens: 24), models: ["alpha"], grace: 10)
        defer { run.cleanUp() }
        #expect(try await post(stream: false, model: "alpha", port: run.port).status == 200)  // loaded
        let client = try await startStream(port: run.port)
        let clock = ContinuousClock()
        try await client.waitFor("the first tokens") { $0.text.contains("data: {") }
        let sent = clock.now
        #expect(kill(run.proxy.pid, SIGTERM) == 0)
        let exit = await run.proxy.waitForExit()
        let exitedAt = NIODeadline.now()
        let took = clock.now - sent
        // The client's own reads may trail the proxy's exit on a loaded machine: wait (bounded) for the end it saw.
        let response = try #require(TimedResponse(try await client.waitFor("the stream's end") { $0.ending != nil }))
        #expect(exit == .exited(0), "llama-proxy exit: \(exit)")
        #expect(response.complete && response.bodyText.hasSuffix("data: [DONE]\n\n"), "the stream must finish whole")
        let streamEnd = try #require(client.snapshot.reads.last?.at)
        let afterEnd = exitedAt - streamEnd
        #expect(took > .milliseconds(700), "exited after \(took): before the stream could have ended (~1.5 s)")
        #expect(afterEnd < .nanoseconds(Int64(TimingSlack.scaled(.seconds(1)).nanoseconds)), "exited \(afterEnd) after the stream's end (grace 10 s)")
        await client.close()
    }

    /// …and until the grace, when the stream is longer: then it is cut and the proxy exits.
    @Test func sigtermCutsAStreamInFlightAtTheGrace() async throws {
        // 400 tokens at 16/s: 25 s, far longer than the 1 s grace.
        let run = try await ProxyRun.launch(scenario: Self.streaming(tokens: 400), models: ["alpha"], grace: 1)
        defer { run.cleanUp() }
        #expect(try await post(stream: false, model: "alpha", port: run.port).status == 200)
        let children = processes(withArgument: run.scenario)
        let client = try await startStream(port: run.port)
        try await client.waitFor("the first tokens") { $0.text.contains("data: {") }
        let clock = ContinuousClock()
        let sent = clock.now
        #expect(kill(run.proxy.pid, SIGTERM) == 0)
        let exit = await run.proxy.waitForExit()
        let took = clock.now - sent
        #expect(exit == .exited(0), "llama-proxy exit: \(exit)")
        #expect(took >= .milliseconds(950), "exited after \(took), before the 1 s grace")
        #expect(took < TimingSlack.scaled(.seconds(4)), "exit took \(took): the grace is 1 s")
        #expect(TimedResponse(client.snapshot)?.complete == false, "a 25 s stream cannot have finished")
        for pid in children { #expect(isGone(pid), "model \(pid) outlived the proxy") }
        await client.close()
    }

    /// A scenario whose streaming chat answers are `tokens` tokens at 16 per second.
    static func streaming(tokens: Int) -> String {
        """
        description: a steady stream
        responses:
          - match: {method: POST, path: /v1/chat/completions, stream: true}
            steps:
              - tokens: {count: \(tokens), perSecond: 16}
              - end: close

        """
    }

    private func startStream(port: Int) async throws -> RawTCPClient {
        let json = "{\"model\":\"alpha\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
        let client = try await RawTCPClient.connect(port: port)
        _ = try await client.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(json.utf8.count)\r\n\r\n\(json)")
        return client
    }
}

/// One `llama-proxy` process with `harness serve` models (one scenario file for all), listening on a free port.
private struct ProxyRun {
    let directory: URL
    let scenario: String
    let port: Int
    let proxy: ChildProcess

    static func launch(scenario text: String, models: [String], grace: Double) async throws -> ProxyRun {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-stop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let scenario = directory.appendingPathComponent("scenario.yaml").path
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let harness = BuiltProducts.path(of: "harness")
        let port = try freePort()
        let startPort = try freePortRange(models.count, avoiding: [port])
        let config =
            "healthCheckTimeout: 15\nstartPort: \(startPort)\nmodels:\n"
            + models.map { "  \($0):\n    cmd: \(harness) serve --scenario \(scenario) --port ${PORT}\n" }.joined()
            // All models may run at once (ungrouped models would swap each other out).
            + "groups:\n  all:\n    swap: false\n    members: [\(models.joined(separator: ", "))]\n"
        let configPath = directory.appendingPathComponent("config.yaml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let output = WatchedValue([String]())
        let proxy = try await ChildProcess.launch(
            argv: [
                BuiltProducts.path(of: "llama-proxy"), "--config", configPath, "--listen", "127.0.0.1:\(port)",
                "--shutdown-grace", "\(grace)",
            ],
            environment: [:],
            onLine: { _, line in output.update { $0.append(line) } },
            onExit: { _ in }
        )
        _ = try await output.wait(timeout: .seconds(20), what: "the proxy to listen") { lines in
            lines.contains { $0.contains("llama-proxy listening") }
        }
        return ProxyRun(directory: directory, scenario: scenario, port: port, proxy: proxy)
    }

    /// Kills whatever is left (a failed test) and removes the files.
    func cleanUp() {
        proxy.signalGroup(SIGKILL)
        for pid in processes(withArgument: scenario) { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }
}

private func post(stream: Bool, model: String, port: Int) async throws -> TimedResponse {
    let json = "{\"model\":\"\(model)\",\"stream\":\(stream),\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
    return try await exchange(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)", port: port)
}

private func get(_ path: String, port: Int) async throws -> TimedResponse {
    try await exchange("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
}

private func exchange(_ request: String, port: Int) async throws -> TimedResponse {
    let client = try await RawTCPClient.connect(port: port)
    _ = try await client.send(request)
    let response = try await client.response(timeout: .seconds(30))
    await client.close()
    return response
}

/// Pids of processes whose command line has `argument` (the children started for this test's scenario file).
private func processes(withArgument argument: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
        guard !isGone(pid), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == argument }
    }
}
