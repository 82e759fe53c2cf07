import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RawHTTP
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one raw client against a loopback server that answers each connection's first read by a script.
@Suite struct RawTCPClientTests {
    enum Close: Sendable, CaseIterable {
        /// Write the answer, then FIN.
        case fin
        /// Write the answer, then close with SO_LINGER {1, 0}: a reset.
        case reset
        /// Write the answer and keep the connection open.
        case keep
    }

    /// A server that echoes the first read it gets after `prefix`, then ends as `close` says.
    static func withServer(
        prefix: String, close: Close, _ body: (Int) async throws -> Void
    ) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedAnswer(prefix: prefix, close: close))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(channel.localAddress!.port!)
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
    }

    @Test(arguments: [(Close.fin, RawTCPClient.Ending.eof), (.reset, .reset)])
    func theClientTellsAResetFromAnEOF(close: Close, seen: RawTCPClient.Ending) async throws {
        try await Self.withServer(prefix: "echo:", close: close) { port in
            let client = try await RawTCPClient.connect(port: port)
            let sentAt = try await client.send([0, 1, 0xFF, 13, 10])
            #expect(try await client.waitForEnding() == seen)
            let received = client.snapshot
            let expected = Array("echo:".utf8) + [0, 1, 0xFF, 13, 10]
            // A reset may discard what the kernel still held for the client; what did arrive is exact.
            #expect(close == .reset ? expected.starts(with: received.bytes) : received.bytes == expected)
            #expect(received.reads.allSatisfy { $0.at >= sentAt })
            #expect(received.endedAt.map { $0 >= received.reads.last!.at } == true)
            await client.close()
        }
    }

    @Test func aClientThatGivesUpIsNotAPeerEnding() async throws {
        try await Self.withServer(prefix: "", close: .keep) { port in
            let client = try await RawTCPClient.connect(port: port)
            try await client.send("x")
            try await client.waitForBytes(1)
            await client.close()
            #expect(client.snapshot.ending == .closedByClient)
        }
    }

    @Test func eventsArriveOnTheLoopBeforeWaitersSeeThem() async throws {
        try await Self.withServer(prefix: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", close: .fin) { port in
            let seen = EventLog()
            let client = try await RawTCPClient.connect(port: port) { event in seen.append(event) }
            try await client.send("ok")
            _ = try await client.waitForEnding()
            let response = try #require(TimedResponse(client.snapshot))
            #expect(response.status == 200)
            #expect(response.bodyText == "ok")
            #expect(response.complete)
            #expect(seen.reads == client.snapshot.reads)
            #expect(seen.ending == .eof)
        }
    }

    @Test func aWaitThatNeverComesTrueTimesOut() async throws {
        try await Self.withServer(prefix: "", close: .keep) { port in
            let client = try await RawTCPClient.connect(port: port)
            await #expect(throws: RawTCPClient.Timeout.self) {
                try await client.waitForBytes(1, timeout: .milliseconds(50))
            }
            await client.close()
        }
    }
}

/// The events `onEvent` got, behind a lock.
final class EventLog: Sendable {
    private let box = NIOLockedValueBox<[RawTCPClient.Event]>([])

    func append(_ event: RawTCPClient.Event) { box.withLockedValue { $0.append(event) } }

    private var events: [RawTCPClient.Event] { box.withLockedValue { $0 } }

    var reads: [RawTCPClient.Read] {
        events.compactMap { if case .read(let read) = $0 { read } else { nil } }
    }

    var ending: RawTCPClient.Ending? {
        events.lazy.compactMap { if case .ended(let ending, _) = $0 { ending } else { nil } }.first
    }
}

/// Answers the first read with `prefix` + the read, then ends as told.
private final class ScriptedAnswer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let prefix: String
    let close: RawTCPClientTests.Close
    private var answered = false

    init(prefix: String, close: RawTCPClientTests.Close) {
        self.prefix = prefix
        self.close = close
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        var answer = context.channel.allocator.buffer(string: prefix)
        var read = unwrapInboundIn(data)
        answer.writeBuffer(&read)
        let channel = context.channel
        let written = context.writeAndFlush(wrapOutboundOut(answer))
        switch close {
        case .keep:
            break
        case .fin:
            written.whenComplete { _ in channel.close(promise: nil) }
        case .reset:
            written.whenComplete { _ in
                guard let socket = channel as? any SocketOptionProvider else { return }
                socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
