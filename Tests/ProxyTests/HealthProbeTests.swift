import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Proxy

/// The health probe over a loopback socket: NIO's request encoder and response decoder, one whole head awaited.
@Suite struct HealthProbeTests {
    /// A server that answers each connection's first read with `answer` and keeps the connection open; the
    /// request it got is handed to `requests`.
    static func withServer(answer: String, _ body: (Int, RequestLog) async throws -> Void) async throws {
        let log = RequestLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Answer(answer: answer, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(channel.localAddress!.port!, log)
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HealthProbe.Outcome.healthy),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", .healthy),
        ("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", .unhealthy("HTTP 503")),
        ("HTTP/1.0 404 Not Found\r\n\r\n", .unhealthy("HTTP 404")),
    ])
    func theOutcomeFollowsTheStatusOfAWholeHead(answer: String, outcome: HealthProbe.Outcome) async throws {
        try await Self.withServer(answer: answer) { port, log in
            let upstream = UpstreamURL(host: "127.0.0.1", port: port, basePath: "/base")
            #expect(await HealthProbe().check(upstream, path: "health", timeout: .seconds(10)) == outcome)
            let request = log.text
            #expect(request.hasPrefix("GET /base/health HTTP/1.1\r\n"))
            #expect(request.contains("Host: 127.0.0.1:\(port)\r\n"))
            #expect(request.contains("Connection: close\r\n"))
        }
    }

    @Test func bytesThatAreNotHTTPAreUnhealthy() async throws {
        try await Self.withServer(answer: "SSH-2.0-OpenSSH_9.6\r\n\r\n") { port, _ in
            let outcome = await HealthProbe().check(
                UpstreamURL(host: "127.0.0.1", port: port), path: "/health", timeout: .seconds(10))
            #expect(outcome != .healthy)
            #expect(outcome != .unhealthy("no answer within 10000 ms"), "rejected at once, not timed out")
        }
    }

    @Test func aStatusLineWithoutTheRestOfTheHeadTimesOut() async throws {
        try await Self.withServer(answer: "HTTP/1.1 200 OK\r\n") { port, _ in
            let outcome = await HealthProbe().check(
                UpstreamURL(host: "127.0.0.1", port: port), path: "/health", timeout: .milliseconds(300))
            #expect(outcome == .unhealthy("no answer within 300 ms"))
        }
    }
}

/// The bytes the server got, behind a lock.
final class RequestLog: Sendable {
    private let bytes = NIOLockedValueBox<[UInt8]>([])

    func append(_ buffer: ByteBuffer) { bytes.withLockedValue { $0 += buffer.readableBytesView } }

    var text: String { String(decoding: bytes.withLockedValue { $0 }, as: UTF8.self) }
}

private final class Answer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let answer: String
    let log: RequestLog
    private var answered = false

    init(answer: String, log: RequestLog) {
        self.answer = answer
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        log.append(unwrapInboundIn(data))
        guard !answered else { return }
        answered = true
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
    }
}
