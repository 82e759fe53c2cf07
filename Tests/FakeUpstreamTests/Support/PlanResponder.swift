import FakeUpstream
import Logging
import NIOCore
import InMemoryLogging

/// A responder for server tests: answers every request with the plan a closure builds, so tests script the
/// executor directly without the scenario player.
struct PlanResponder: Responder {
    var plan: @Sendable (RequestContext) -> ResponsePlan

    init(_ plan: @escaping @Sendable (RequestContext) -> ResponsePlan) {
        self.plan = plan
    }

    /// The same plan for every request.
    init(_ actions: [TimedAction]) {
        self.plan = { _ in ResponsePlan(actions: actions) }
    }

    func respond(to request: RequestContext, uptime: Duration) -> ResponderDecision {
        ResponderDecision(plan: plan(request), scenario: "test", rule: request.path, timeScale: 1)
    }
}

/// Bytes of a minimal HTTP/1.1 response head with a Content-Length, for plans.
func responseHead(contentLength: Int, status: String = "200 OK") -> [UInt8] {
    Array("HTTP/1.1 \(status)\r\nContent-Length: \(contentLength)\r\n\r\n".utf8)
}

/// A complete GET request for `path`.
func getRequest(_ path: String, headers: String = "") -> String {
    "GET \(path) HTTP/1.1\r\nHost: fake\r\n\(headers)\r\n"
}

extension Duration {
    /// Milliseconds as a Double, for readable timing assertions.
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

extension TimeAmount {
    /// Milliseconds as a Double, for readable timing assertions.
    var milliseconds: Double { Double(nanoseconds) / 1e6 }
}

/// Runs `body` against a started server and always stops it.
func withServer<Result>(
    _ responder: some Responder,
    _ body: (FakeUpstreamServer, Int) async throws -> Result
) async throws -> Result {
    let server = FakeUpstreamServer(
        responder: responder, logger: Logger(label: "fake-upstream-test") { _ in InMemoryLogHandler() })
    let port = try await server.start()
    do {
        let result = try await body(server, port)
        try await server.stop()
        return result
    } catch {
        try? await server.stop()
        throw error
    }
}
