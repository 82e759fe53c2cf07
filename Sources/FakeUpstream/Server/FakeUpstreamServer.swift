import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The scriptable fake llama-server: listens on a TCP port, asks a `Responder` how to answer each request, and
/// plays the answer byte for byte and on time, recording everything in a `Journal`.
///
/// A final class over locks rather than an actor: `releaseGate` and `journal` must be usable synchronously from
/// tests and from event loops (the `POST /__harness/gates/…` endpoint), and the only mutable state, the listening
/// channel and the open connections, is tiny and lives behind one lock.
public final class FakeUpstreamServer: Sendable {
    /// Everything that happened, with monotonic times; readable at any time.
    public let journal: Journal

    private let responder: any Responder
    private let host: String
    private let port: Int
    private let logger: Logger
    private let group: any EventLoopGroup
    private let gates = GateRegistry()
    private let state = NIOLockedValueBox(State())

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        /// Between `start` and `stop`; connections accepted otherwise are closed at once.
        var running = false
    }

    /// A server that answers with `responder` on `host:port` (port 0 picks a free port; `start` reports it).
    /// Connections run on `group`, by default NIO's shared singleton group.
    public init(
        responder: any Responder,
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.responder = responder
        self.host = host
        self.port = port
        self.logger = logger
        self.group = group
        self.journal = Journal()
    }

    /// Starts listening and returns the bound port. Journal times and the responder's uptime count from the first
    /// start.
    /// A stopped server may be started again; a running one refuses.
    public func start() async throws -> Int {
        let claimed = state.withLockedValue { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard claimed else {
            throw FakeUpstreamServerError(
                message: "the fake upstream is already running; stop it before starting it again")
        }
        journal.markStart(at: .now())
        let listener: any Channel
        do {
            listener = try await bootstrap().bind(host: host, port: port).get()
        } catch {
            state.withLockedValue { $0.running = false }
            throw FakeUpstreamServerError(message: "could not listen on \(host):\(port): \(error)", underlying: error)
        }
        state.withLockedValue { $0.listener = listener }
        let bound = listener.localAddress?.port ?? port
        logger.info("fake upstream listening", metadata: ["host": "\(host)", "port": "\(bound)"])
        return bound
    }

    /// Listening socket options and the per-connection pipeline: the request decoder, then the executor. No
    /// response encoder, because plans are raw bytes.
    private func bootstrap() -> ServerBootstrap {
        let (responder, journal, gates, logger) = (self.responder, self.journal, self.gates, self.logger)
        let state = self.state
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
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
                        FakeConnectionHandler(responder: responder, journal: journal, gates: gates, logger: logger))
                }
            }
    }

    /// Stops listening and closes every open connection (hanging ones included).
    public func stop() async throws {
        let (listener, connections) = state.withLockedValue { state in
            state.running = false
            let taken = (state.listener, Array(state.connections.values))
            state.listener = nil
            state.connections = [:]
            return taken
        }
        if let listener {
            try? await listener.close()
        }
        for connection in connections {
            connection.close(promise: nil)
        }
        for connection in connections {
            try? await connection.closeFuture.get()
        }
    }

    /// Releases the gate `name` for every connection waiting on it now, and for any that reaches it later.
    public func releaseGate(_ name: String) {
        gates.release(name)
    }

    /// Waits, without polling, until `predicate` holds for the journal; returns the snapshot that satisfied it.
    @discardableResult
    public func waitFor(
        timeout: Duration,
        _ what: String = "a journal condition",
        _ predicate: @escaping @Sendable (JournalSnapshot) -> Bool
    ) async throws -> JournalSnapshot {
        try await journal.waitFor(timeout: timeout, what, predicate)
    }
}

/// Why the fake server could not do what was asked.
public struct FakeUpstreamServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong and what to do about it.
    public var message: String
    /// The error this one was made from (such as the failed bind), if any; not part of equality.
    public var underlying: (any Error)? = nil
    /// The message, as printed.
    public var description: String { message }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.message == rhs.message }

    public func hash(into hasher: inout Hasher) { hasher.combine(message) }
}
