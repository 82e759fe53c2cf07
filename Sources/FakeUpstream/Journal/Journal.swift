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

    /// Sets the clock's origin to the server's first start; a restarted server keeps counting from it, so the
    /// records of both runs share one time line.
    func markStart(at start: NIODeadline) {
        clockOrigin.setOnce(start)
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
            var index = -1
            journal.update(connection: connection) { record in
                record.requests.append(request)
                index = record.requests.count - 1
            }
            return index
        }
    }

    func recordWrite(_ write: WriteRecord, connection: Int, request: Int) {
        records.update { $0.update(request: request, on: connection) { $0.writes.append(write) } }
    }

    func recordGate(_ gate: GateRecord, connection: Int, request: Int) {
        records.update { $0.update(request: request, on: connection) { $0.gates.append(gate) } }
    }

    func recordEnd(_ end: EndRecord, connection: Int, request: Int) {
        records.update { $0.update(request: request, on: connection) { $0.end = end } }
    }

    func recordBytesWritten(_ count: Int, connection: Int) {
        records.update { $0.update(connection: connection) { $0.bytesWritten += count } }
    }

    /// Records the peer's close unless one is already recorded (a reset after a FIN is the same departure).
    func recordPeerClose(_ kind: PeerClose.Kind, at time: NIODeadline, connection: Int) {
        let at = sinceStart(time)
        records.update { journal in
            journal.update(connection: connection) { record in
                guard record.peerClose == nil else { return }
                let since = record.requests.last.map { at - $0.arrival }
                record.peerClose = PeerClose(
                    kind: kind, at: at, sinceRequestArrival: since, bytesWritten: record.bytesWritten)
            }
        }
    }

    func recordClosed(at time: NIODeadline, connection: Int) {
        let at = sinceStart(time)
        records.update { $0.update(connection: connection) { $0.closedAt = at } }
    }
}

/// The journal's origin, settable once the server starts; a tiny lock because every record reads it.
private final class JournalOrigin: Sendable {
    private let box: NIOLockedValueBox<(origin: NIODeadline, fixed: Bool)>

    init(_ origin: NIODeadline) { box = NIOLockedValueBox((origin, false)) }
    func get() -> NIODeadline { box.withLockedValue { $0.origin } }
    func setOnce(_ origin: NIODeadline) {
        box.withLockedValue { if !$0.fixed { $0 = (origin, true) } }
    }
}

extension JournalSnapshot {
    /// Mutates connection `id` if it exists; records for unknown ids are dropped rather than trapping.
    fileprivate mutating func update(connection id: Int, _ body: (inout ConnectionRecord) -> Void) {
        guard connections.indices.contains(id - 1) else { return }
        body(&connections[id - 1])
    }

    fileprivate mutating func update(request index: Int, on id: Int, _ body: (inout RequestRecord) -> Void) {
        update(connection: id) { connection in
            guard connection.requests.indices.contains(index) else { return }
            body(&connection.requests[index])
        }
    }
}
