import FakeUpstream
import Foundation
import RawHTTP
import TestSupport
import Testing

@testable import Proxy

/// `llama-proxy --tls-cert-file --tls-key-file` (llama-swap's `-tls-cert-file`/`-tls-key-file`): the real executable
/// serves HTTPS with a certificate made at test time, reached as the https peer of an in-process proxy that trusts
/// the test CA; the flags' mistakes stop it at start.
@Suite(.serialized) struct TLSServingProcessTests {
    static func run(_ arguments: [String], until done: @escaping @Sendable ([String]) -> Bool) async throws
        -> (process: ChildProcess, output: WatchedValue<[String]>)
    {
        let output = WatchedValue([String]())
        let process = try await ChildProcess.launch(
            argv: [BuiltProducts.path(of: "llama-proxy")] + arguments, environment: [:],
            onLine: { _, line in output.update { $0.append(line) } }, onExit: { _ in })
        _ = try await output.wait(timeout: TimingSlack.scaled(.seconds(20)), what: "llama-proxy's output", until: done)
        return (process, output)
    }

    @Test func servesHTTPSToAPeer() async throws {
        let certificates = try TLSTestCertificates.make()
        defer { certificates.remove() }
        let directory = certificates.directory
        let scenario = directory.appendingPathComponent("answer.yaml").path
        try "description: llama-server defaults\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let port = try freePort()
        let startPort = try freePortRange(1, avoiding: [port])
        let config = directory.appendingPathComponent("config.yaml").path
        try """
            startPort: \(startPort)
            models:
              m:
                cmd: \(BuiltProducts.path(of: "harness")) serve --scenario \(scenario) --port ${PORT}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let (process, output) = try await Self.run(
            [
                "-config", config, "-listen", "127.0.0.1:\(port)", "-tls-cert-file", certificates.certificateFile,
                "-tls-key-file", certificates.keyFile,
            ],
            until: { $0.contains { $0.contains("llama-proxy listening") } })
        defer { Task { _ = await process.terminate(grace: .seconds(10)) } }
        #expect(output.value.contains { $0.contains("listening on https://127.0.0.1:\(port)") }, "\(output.value)")

        let (near, nearPort) = try await PeerTLSTests.near(
            yaml: "models:\n  x:\n    proxy: http://127.0.0.1:1\npeers:\n  tls:\n    proxy: https://localhost:\(port)\n"
                + "    models: [m]\n",
            trusting: certificates)
        defer { Task { await near.stop(grace: .zero) } }
        let response = try await PeerTLSTests.post(port: nearPort, model: "tls/m", stream: true, timeout: .seconds(30))
        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.bodyText.hasSuffix("data: [DONE]\n\n"), "\(response.bodyText)")

        // Plain HTTP to the TLS port is not an answer: the handshake fails and the connection closes.
        let plain = try await RawTCPClient.connect(port: port)
        _ = try await plain.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        let received = try await plain.waitFor(timeout: TimingSlack.scaled(.seconds(10)), "the close") {
            $0.ending != nil
        }
        #expect(!received.text.contains("HTTP/1.1 200"))
    }

    @Test func oneFlagAloneOrAnUnreadableFileStopsAtStart() async throws {
        let certificates = try TLSTestCertificates.make()
        defer { certificates.remove() }
        let config = certificates.directory.appendingPathComponent("config.yaml").path
        try "models:\n  m:\n    proxy: http://127.0.0.1:1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let port = try freePort()

        let (alone, aloneOutput) = try await Self.run(
            ["--config", config, "--listen", "127.0.0.1:\(port)", "--tls-cert-file", certificates.certificateFile],
            until: { $0.contains { $0.contains("tls") } })
        #expect(await alone.waitForExit() == .exited(64))
        #expect(aloneOutput.value.contains { $0.contains("both --tls-cert-file and --tls-key-file must be given") })

        let missing = certificates.directory.appendingPathComponent("missing.pem").path
        let (unreadable, unreadableOutput) = try await Self.run(
            [
                "--config", config, "--listen", "127.0.0.1:\(port)", "--tls-cert-file", missing, "--tls-key-file",
                certificates.keyFile,
            ],
            until: { $0.contains { $0.contains("TLS certificate") } })
        #expect(await unreadable.waitForExit() == .exited(1))
        #expect(unreadableOutput.value.contains { $0.contains("cannot read the TLS certificate '\(missing)'") })
    }
}
