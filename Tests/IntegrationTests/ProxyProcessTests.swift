import FakeUpstream
import Foundation
import NIOCore
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
}

private func post(stream: Bool, model: String, port: Int) async throws -> HTTPResponseReader {
    let json = "{\"model\":\"\(model)\",\"stream\":\(stream),\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
    return try await exchange(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)", port: port)
}

private func get(_ path: String, port: Int) async throws -> HTTPResponseReader {
    try await exchange("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
}

private func exchange(_ request: String, port: Int) async throws -> HTTPResponseReader {
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
