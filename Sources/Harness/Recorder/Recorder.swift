import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// `harness record`: a pass-through proxy in front of a real server that writes one replayable scenario file per
/// exchange.
///
/// Nothing is buffered: each upstream read goes to the client as soon as it arrives (and the upstream is read only
/// while the client keeps up), stamped on the monotonic clock for the file. A final class over a lock, like
/// `FakeUpstreamServer`: `start`, `stop` and `port` are called from any task, and the state (the listener and the
/// open connections) is tiny.
public final class Recorder: Sendable {
    /// What is recorded from where, into which directory.
    public let configuration: RecorderConfiguration

    private let logger: Logger
    private let group: any EventLoopGroup
    private let sink: RecordingSink
    private let state = NIOLockedValueBox(State())

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var running = false
        var port: Int?
    }

    /// A recorder with `configuration`; connections run on `group`, by default NIO's shared singleton group.
    public init(
        configuration: RecorderConfiguration,
        logger: Logger = Logger(label: "harness.record"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.sink = RecordingSink(directory: configuration.outputDirectory, onRecorded: configuration.onRecorded)
    }

    /// The bound port while running.
    public var port: Int? {
        state.withLockedValue { $0.port }
    }

    /// Creates the output directory, starts listening, and returns the bound port.
    public func start() async throws -> Int {
        let claimed = state.withLockedValue { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard claimed else { throw RecorderError(message: "the recorder is already running; stop it first") }
        let host = configuration.listenHost
        let port = configuration.listenPort
        let listener: any Channel
        do {
            try sink.prepare()
            listener = try await bootstrap().bind(host: host, port: port).get()
        } catch {
            state.withLockedValue { $0.running = false }
            if let error = error as? RecorderError { throw error }
            throw RecorderError(message: "cannot listen on \(host):\(port): \(error)", underlying: error)
        }
        let bound = listener.localAddress?.port ?? port
        state.withLockedValue {
            $0.listener = listener
            $0.port = bound
        }
        logger.info(
            "recording",
            metadata: [
                "listen": "\(host):\(bound)", "upstream": "\(configuration.upstream)",
                "out": "\(configuration.outputDirectory)",
            ])
        return bound
    }

    /// Stops listening, closes every open connection, and returns once every exchange is written: one cut short
    /// as `hang`, a complete one after its close grace.
    public func stop() async throws {
        let (listener, connections) = state.withLockedValue { state in
            state.running = false
            state.port = nil
            let taken = (state.listener, Array(state.connections.values))
            state.listener = nil
            state.connections = [:]
            return taken
        }
        if let listener { try? await listener.close() }
        for connection in connections { connection.close(promise: nil) }
        for connection in connections { try? await connection.closeFuture.get() }
        await sink.drain()
    }

    private func bootstrap() -> ServerBootstrap {
        let (configuration, sink, logger, state) = (self.configuration, self.sink, self.logger, self.state)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let key = ObjectIdentifier(channel)
                let accepted = state.withLockedValue { state -> Bool in
                    guard state.running else { return false }
                    state.connections[key] = channel
                    return true
                }
                guard accepted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in
                    state.withLockedValue { _ = $0.connections.removeValue(forKey: key) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        RecordingSession(configuration: configuration, sink: sink, logger: logger))
                }
            }
    }
}
