import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

// `nio-floor`: the least a proxy built on NIO's HTTP/1 codec does per request, for bench/compare.sh's floor column.
// Each client connection is paired with one upstream connection on its event loop and parts are relayed as they
// arrive (one flush per upstream read); a connection is dropped after a stream or a close. Nothing else: no routing,
// timeouts, heartbeats, metrics, activity records or pool. A measuring tool, not a product.

var listen = 8090
var upstreamPort = 8091
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--listen": listen = Int(arguments.next() ?? "") ?? listen
    case "--upstream": upstreamPort = Int(arguments.next() ?? "") ?? upstreamPort
    default:
        print("usage: nio-floor --listen PORT --upstream PORT (an upstream on 127.0.0.1)")
        exit(2)
    }
}
let upstream = try SocketAddress(ipAddress: "127.0.0.1", port: upstreamPort)
let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false)
            try channel.pipeline.syncOperations.addHandler(FloorClientSide(upstream: upstream))
        }
    }
    .bind(host: "127.0.0.1", port: listen).get()
try await server.closeFuture.get()
