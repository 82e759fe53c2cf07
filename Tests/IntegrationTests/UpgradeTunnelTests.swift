import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import RawHTTP
import Testing

/// An upstream that speaks just enough of an HTTP upgrade: it reads a request head, answers `101` (with a first
/// message in the same write, as ComfyUI sends its status on connect) when the head asks for `websocket`, or `404`
/// otherwise, then echoes every byte it reads, upper-cased. It records the heads it received.
final class UpgradeEchoUpstream: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let heads: NIOLockedValueBox<[String]>
    private var buffered: [UInt8] = []
    private var upgraded = false

    init(heads: NIOLockedValueBox<[String]>) { self.heads = heads }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        if upgraded {
            let upper = bytes.map { (0x61...0x7a).contains($0) ? $0 - 0x20 : $0 }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: upper)), promise: nil)
            return
        }
        buffered += bytes
        let text = String(decoding: buffered, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return }
        let head = String(text[..<end.lowerBound])
        heads.withLockedValue { $0.append(head) }
        if head.lowercased().contains("upgrade: websocket") {
            upgraded = true
            let answer =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nhello from upstream"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
        } else {
            let answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nno"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
        }
    }
}

/// WebSockets through `/upstream/<model>/…` (ComfyUI's `/ws` behind llama-swap): the upgrade request reaches the
/// upstream with its `Upgrade` and `Connection: Upgrade`, the `101` reaches the client, and then bytes flow both
/// ways unchanged, the upstream's first message included; when one side closes, so does the other. An upstream
/// that refuses the upgrade answers as any request, and the connection closes after it.
@Suite(.timeLimit(.minutes(1)))
struct UpgradeTunnelTests {
    static let upgradeRequest =
        "GET /upstream/m/ws?clientId=7 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    struct Rig {
        let proxy: ProxyServer
        let port: Int
        let upstream: any Channel
        let heads: NIOLockedValueBox<[String]>

        func stop() async {
            await proxy.stop(grace: .zero)
            try? await upstream.close()
        }
    }

    static func start() async throws -> Rig {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let heads = NIOLockedValueBox([String]())
        let upstream = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpgradeEchoUpstream(heads: heads))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var (config, _) = try ConfigLoader.load(
            yaml: "clientIdleTimeout: 200ms\nmodels:\n  m:\n    proxy: http://127.0.0.1:\(upstream.localAddress!.port!)\n"
                + "    checkEndpoint: none\n",
            file: "config.yaml", environment: [:])
        config.models["m"]?.command = nil
        let store = ConfigStore(config)
        let proxy = ProxyServer(router: ProxyRouter(store: store, provider: Supervisor(store: store, logger: logger)),
            port: 0, logger: logger)
        return Rig(proxy: proxy, port: try await proxy.start(), upstream: upstream, heads: heads)
    }

    @Test func aWebSocketBecomesATunnel() async throws {
        let rig = try await Self.start()
        defer { Task { await rig.stop() } }
        let client = try await RawTCPClient.connect(port: rig.port)
        _ = try await client.send(Self.upgradeRequest)
        let switched: RawTCPClient.Received
        do {
            switched = try await client.waitFor(timeout: .seconds(5), "the 101 and the upstream's first message") {
                $0.text.contains("hello from upstream")
            }
        } catch {
            Issue.record("\(error): received \(client.snapshot.text.debugDescription), upstream saw \(rig.heads.withLockedValue { $0 })")
            throw error
        }
        let head = switched.text.components(separatedBy: "\r\n\r\n")[0].lowercased()
        #expect(head.hasPrefix("http/1.1 101 switching protocols"), "\(switched.text)")
        #expect(head.contains("upgrade: websocket") && head.contains("connection: upgrade"), "\(head)")
        #expect(head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "\(head)")
        #expect(!head.contains("content-length") && !head.contains("transfer-encoding"), "\(head)")

        // Both ways, unchanged bytes (binary too), several times; the client idle timeout (200 ms here) does not
        // apply to a tunnel: a message after 600 ms of silence still goes through.
        for (index, message) in ["ping", "second \u{1}\u{2} frame", "after a silence"].enumerated() {
            if index == 2 { try await Task.sleep(for: .milliseconds(600)) }
            _ = try await client.send(message)
            let echoed = try await client.waitFor(timeout: .seconds(10), "the echo of \(message)") {
                $0.text.contains(message.uppercased())
            }
            #expect(echoed.text.hasSuffix(message.uppercased()))
        }
        let forwarded = try #require(rig.heads.withLockedValue { $0 }.first).lowercased()
        #expect(forwarded.hasPrefix("get /ws?clientid=7 http/1.1"), "\(forwarded)")
        #expect(forwarded.contains("upgrade: websocket") && forwarded.contains("connection: upgrade"), "\(forwarded)")
        #expect(forwarded.contains("sec-websocket-key: dghlihnhbxbszsbub25jzq=="), "\(forwarded)")

        // The upstream closes: the client's connection closes too.
        await rig.stop()
        let ending = try await client.waitForEnding(timeout: .seconds(10))
        #expect(ending == .eof || ending == .reset, "\(ending)")
    }

    @Test func aRefusedUpgradeIsAnsweredAndClosed() async throws {
        let rig = try await Self.start()
        defer { Task { await rig.stop() } }
        let client = try await RawTCPClient.connect(port: rig.port)
        _ = try await client.send(Self.upgradeRequest.replacingOccurrences(of: "Upgrade: websocket", with: "Upgrade: h2c"))
        let response = try await client.response(timeout: .seconds(10))
        #expect(response.status == 404 && response.bodyText == "no")
        let ending = try await client.waitForEnding(timeout: .seconds(10))
        #expect(ending == .eof || ending == .reset, "\(ending)")
    }
}
