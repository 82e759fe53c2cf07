import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// What happened on every connection of one fake server, safe to record from any event loop and to read or await
/// from tests.
///
/// A final class over a lock rather than an actor: connection handlers record synchronously on their event loops,
/// which must never suspend. Monotonic `NIODeadline`s go in; nanoseconds since `origin` come out.
public final class Journal: Sendable {
    private let clockOrigin: JournalOrigin
    private let records: WatchedValue<JournalSnapshot>

    /// A journal whose times count from `origin` (the server's start).
    public init(origin: NIODeadline = .now()) {
        self.clockOrigin = JournalOrigin(origin)
        self.records = WatchedValue(JournalSnapshot())
    }

    /// The monotonic instant journal times count from (the server's start), to compare them with a client's clock.
    public var origin: NIODeadline { clockOrigin.get() }

    /// Everything recorded so far.
    public var snapshot: JournalSnapshot { records.value }

    /// The journal as JSON (what `GET /__harness/journal` serves); keys sorted so output is stable.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(snapshot)
    }

    /// Waits until `predicate` holds for the journal, woken by each new record (no polling), and returns the
    /// snapshot that satisfied it. Throws `WaitTimeout` after `timeout`. The predicate runs under the journal's lock:
    /// it must only inspect the snapshot it is given, never call back into the journal.
    @discardableResult
    public func waitFor(
        timeout: Duration,
        _ what: String = "a journal condition",
        _ predicate: @escaping @Sendable (JournalSnapshot) -> Bool
    ) async throws -> JournalSnapshot {
        try await records.wait(timeout: timeout, what: what, until: predicate)
    }

    // MARK: Time

    /// Restarts the clock: later times count from `start`. The server calls this when it starts listening.
    func restart(at start: NIODeadline) {
        clockOrigin.set(start)
    }

    /// `deadline` as nanoseconds since the origin.
    func sinceStart(_ deadline: NIODeadline) -> Int64 {
        (deadline - clockOrigin.get()).nanoseconds
    }

    /// Time since the origin, as the responder's `uptime`.
    func uptime(at deadline: NIODeadline) -> Duration {
        .nanoseconds(sinceStart(deadline))
    }

    // MARK: Recording (called on event loops)

    /// Records an accepted connection and returns its id.
    func openConnection(remoteAddress: String?, at time: NIODeadline) -> Int {
        let acceptedAt = sinceStart(time)
        return records.update { journal in
            let id = journal.connections.count + 1
            journal.connections.append(ConnectionRecord(id: id, remoteAddress: remoteAddress, acceptedAt: acceptedAt))
            return id
        }
    }

    /// Records a request (its arrival time is already in `request`) and returns its index on the connection.
    func record(_ request: RequestRecord, on connection: Int) -> Int {
        records.update { journal in
            journal.connections[connection - 1].requests.append(request)
            return journal.connections[connection - 1].requests.count - 1
        }
    }

    func recordWrite(_ write: WriteRecord, connection: Int, request: Int) {
        records.update { $0.connections[connection - 1].requests[request].writes.append(write) }
    }

    func recordGate(_ gate: GateRecord, connection: Int, request: Int) {
        records.update { $0.connections[connection - 1].requests[request].gates.append(gate) }
    }

    func recordEnd(_ end: EndRecord, connection: Int, request: Int) {
        records.update { $0.connections[connection - 1].requests[request].end = end }
    }

    func recordBytesWritten(_ count: Int, connection: Int) {
        records.update { $0.connections[connection - 1].bytesWritten += count }
    }

    /// Records the peer's close unless one is already recorded (a reset after a FIN is the same departure).
    func recordPeerClose(_ kind: PeerClose.Kind, at time: NIODeadline, connection: Int) {
        let at = sinceStart(time)
        records.update { journal in
            var record = journal.connections[connection - 1]
            guard record.peerClose == nil else { return }
            let since = record.requests.last.map { at - $0.arrival }
            record.peerClose = PeerClose(
                kind: kind, at: at, sinceRequestArrival: since, bytesWritten: record.bytesWritten)
            journal.connections[connection - 1] = record
        }
    }

    func recordClosed(at time: NIODeadline, connection: Int) {
        let at = sinceStart(time)
        records.update { $0.connections[connection - 1].closedAt = at }
    }
}

/// The journal's origin, settable once the server starts; a tiny lock because every record reads it.
private final class JournalOrigin: Sendable {
    private let box: NIOLockedValueBox<NIODeadline>

    init(_ origin: NIODeadline) { box = NIOLockedValueBox(origin) }
    func get() -> NIODeadline { box.withLockedValue { $0 } }
    func set(_ origin: NIODeadline) { box.withLockedValue { $0 = origin } }
}
