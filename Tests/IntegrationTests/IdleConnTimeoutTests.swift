import FakeUpstream
import Foundation
import Logging
import NIOPosix
import Proxy
import RawHTTP
import Testing

/// llama-swap's `timeouts.idleConn` through the real proxy: a pooled connection to a model's server (which keeps
/// connections for 5 s, as llama-server advertises) is reused for a request 800 ms later, unless `idleConn` holds
/// idle connections to 300 ms. One event loop, so both requests meet the same pool.
@Suite(.timeLimit(.minutes(1)))
struct IdleConnTimeoutTests {
    @Test(arguments: [(nil, 1), ("300ms", 2)] as [(String?, Int)])
    func idleConnCapsHowLongAPooledConnectionWaits(idleConn: String?, connections: Int) async throws {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let scenario = try ScenarioParser.parse(yaml: "description: llama-server defaults\n", file: "inline.yaml")
        let fake = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [scenario]), logger: logger)
        let upstreamPort = try await fake.start()
        let timeouts = idleConn.map { "\n    timeouts: {idleConn: \($0)}" } ?? ""
        var (config, warnings) = try ConfigLoader.load(
            yaml: """
                models:
                  m:
                    proxy: http://127.0.0.1:\(upstreamPort)
                    checkEndpoint: none\(timeouts)
                """, file: "config.yaml", environment: [:])
        #expect(warnings.isEmpty, "\(warnings)")
        config.models["m"]?.command = nil
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let store = ConfigStore(config)
        let supervisor = Supervisor(store: store, logger: logger)
        let proxy = ProxyServer(
            router: ProxyRouter(store: store, provider: supervisor), port: 0, logger: logger, group: loop)
        let port = try await proxy.start()
        let body = "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
        var statuses: [Int?] = []
        for index in 0..<2 {
            if index == 1 { try await Task.sleep(for: .milliseconds(800)) }
            let client = try await RawTCPClient.connect(port: port)
            _ = try await client.send(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            statuses.append(try await client.response(timeout: .seconds(10)).status)
            await client.close()
        }
        await proxy.stop(grace: .zero)
        await supervisor.shutdown()
        try? await fake.stop()
        try await loop.shutdownGracefully()
        #expect(statuses == [200, 200])
        let used = fake.journal.snapshot.connections.filter { !$0.requests.isEmpty }
        #expect(used.count == connections, "\(used.map(\.requests.count))")
    }
}
