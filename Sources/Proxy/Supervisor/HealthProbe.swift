import NIOCore
import NIOPosix

/// One `GET checkEndpoint` against an upstream, bounded in time as a whole (connect, send, status line), so a
/// server that accepts and then hangs cannot stall a model's start (a known llama-swap bug: a poll with no timeout).
///
/// Plain HTTP/1.1 with `Connection: close`; only the status line is read. 200 is healthy; anything else, a refused
/// connection or no status line within the timeout is not, with a reason for the debug log.
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
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(millis))
                .connect(host: upstream.host, port: upstream.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            return .unhealthy("cannot connect: \(error)")
        }
        let target = upstream.basePath + (path.hasPrefix("/") ? path : "/" + path)
        let hostHeader =
            upstream.host.contains(":") ? "[\(upstream.host)]:\(upstream.port)" : "\(upstream.host):\(upstream.port)"
        let request = "GET \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\nAccept: */*\r\nConnection: close\r\n\r\n"

        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    return try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(ByteBuffer(string: request))
                        var received = ByteBuffer()
                        for try await chunk in inbound {
                            received.writeImmutableBuffer(chunk)
                            if let status = Self.statusCode(in: received) {
                                return Self.outcome(status: status)
                            }
                            if received.readableBytes > 8192 { return .unhealthy("no HTTP status line") }
                        }
                        return .unhealthy("connection closed before a status line")
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

    /// 200 is healthy; anything else is not (llama-server answers 503 while it loads the model, and a proxy in
    /// front of a dead server may answer 502): the model is forwarded to only after a real 200.
    static func outcome(status: Int) -> Outcome {
        status == 200 ? .healthy : .unhealthy("HTTP \(status)")
    }

    /// The status code once a whole status line (`HTTP/1.x NNN …\r\n`) has arrived.
    static func statusCode(in buffer: ByteBuffer) -> Int? {
        let bytes = buffer.readableBytesView
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: bytes[..<end], as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else { return -1 }
        return code
    }
}
