import NIOCore
import NIOHTTP1
import NIOPosix

/// One `GET checkEndpoint` against an upstream, bounded in time as a whole (connect, send, status line), so a
/// server that accepts and then hangs cannot stall a model's start (a known llama-swap bug: a poll with no timeout).
///
/// Plain HTTP/1.1 with `Connection: close`, through NIO's request encoder and response decoder; only the response
/// head is awaited. 200 is healthy; anything else, a refused connection, bytes that are not an HTTP response, or no
/// head within the timeout is not, with a reason for the debug log.
public struct HealthProbe: Sendable {
    /// The result of one poll.
    public enum Outcome: Sendable, Hashable {
        case healthy
        /// Why not: `HTTP 503`, `connection refused`, `no answer within 2000 ms`…
        case unhealthy(String)
    }

    private let group: any EventLoopGroup

    /// - Parameter group: where the probe's connections run (NIO's shared group by default).
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    /// Polls `path` on `upstream` once, giving up after `timeout`.
    public func check(_ upstream: UpstreamURL, path: String, timeout: Duration) async -> Outcome {
        let millis = max(
            1, Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(millis))
                .connect(host: upstream.host, port: upstream.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            return .unhealthy("cannot connect: \(error)")
        }
        let head = Self.request(upstream, path: path)

        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    return try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(contentsOf: [.head(head), .end(nil)])
                        for try await part in inbound {
                            if case .head(let response) = part { return Self.outcome(status: Int(response.status.code)) }
                        }
                        return .unhealthy("connection closed before a response head")
                    }
                } catch {
                    return .unhealthy("\(error)")
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return nil
                }
                channel.channel.close(promise: nil)
                return .unhealthy("no answer within \(millis) ms")
            }
            var outcome: Outcome = .unhealthy("no answer")
            if let first = await group.next(), let first { outcome = first }
            group.cancelAll()
            channel.channel.close(promise: nil)
            return outcome
        }
    }

    /// `GET path` with `Host`, `Accept: */*` and `Connection: close`, for NIO's request encoder.
    static func request(_ upstream: UpstreamURL, path: String) -> HTTPRequestHead {
        var head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: upstream.basePath + (path.hasPrefix("/") ? path : "/" + path))
        let host = upstream.host.contains(":") ? "[\(upstream.host)]" : upstream.host
        head.headers.add(name: "Host", value: "\(host):\(upstream.port)")
        head.headers.add(name: "Accept", value: "*/*")
        head.headers.add(name: "Connection", value: "close")
        return head
    }

    /// 200 is healthy; anything else is not (llama-server answers 503 while it loads the model, and a proxy in
    /// front of a dead server may answer 502): the model is forwarded to only after a real 200.
    static func outcome(status: Int) -> Outcome {
        status == 200 ? .healthy : .unhealthy("HTTP \(status)")
    }
}
