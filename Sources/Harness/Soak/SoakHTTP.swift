import DurationMath
import FakeUpstream
import Foundation
import NIOCore

/// The soak's small requests to the proxy (`/health`, `/running`, `/unload`, a model's journal through
/// `/upstream/MODEL/__harness/journal`), sent with the replay client (the one raw client of the harness) under a
/// single total time limit, so that none of them can hang the soak.
struct SoakHTTP: Sendable {
    var client: ReplayClient

    /// A status (if a head arrived), the de-framed body, and whether the response was complete.
    struct Answer: Sendable {
        var status: Int?
        var body: [UInt8]
        var complete: Bool
    }

    /// Sends `method path` to the proxy at `port` and waits at most `limit`.
    func request(_ method: String, _ path: String, port: Int, limit: Duration = .seconds(10)) async throws -> Answer {
        let profile = ClientProfile(name: "soak-admin", summary: "the soak's own requests", totalTimeout: limit)
        let bytes = ReplayRunner.requestBytes(
            ClientRequestSpec(method: method, path: path, body: []), host: "127.0.0.1:\(port)", model: "")
        let attempt = try await client.attempt(
            host: "127.0.0.1", port: port, request: bytes, method: method, profile: profile, limit: limit)
        let complete: Bool
        if case .complete = attempt.end { complete = true } else { complete = false }
        return Answer(status: attempt.head?.status, body: attempt.reads.flatMap(\.body), complete: complete)
    }

    /// One row of `GET /running`.
    struct RunningModel: Decodable, Sendable, Hashable {
        var model: String
        var state: String
    }

    /// `GET /running`, decoded.
    func running(port: Int) async throws -> [RunningModel] {
        struct Rows: Decodable { var running: [RunningModel] }
        let answer = try await request("GET", "/running", port: port)
        guard answer.status == 200, answer.complete else {
            throw SoakError("GET /running answered \(answer.status.map(String.init) ?? "nothing")")
        }
        return try JSONDecoder().decode(Rows.self, from: Data(answer.body)).running
    }

    /// The fake's journal of `model`, fetched through the proxy's `/upstream` route (the proxy does not say on
    /// which port a model listens; the route is llama-swap's way to reach a model's own server).
    func journal(model: String, port: Int) async throws -> JournalSnapshot {
        let answer = try await request("GET", "/upstream/\(model)/__harness/journal", port: port, limit: .seconds(20))
        guard answer.status == 200, answer.complete else {
            throw SoakError(
                "GET /upstream/\(model)/__harness/journal answered \(answer.status.map(String.init) ?? "nothing")"
                    + (answer.complete ? "" : " (incomplete)"))
        }
        return try JSONDecoder().decode(JournalSnapshot.self, from: Data(answer.body))
    }

    /// The path of the clock probe: not under `/__harness/`, so the fake journals it (and answers it with
    /// llama-server's default 404, or a strict scenario's 500).
    static let clockPath = "/__soak/clock"

    /// Where the fake's clock starts on this process's clock: the fake's journal times count from its own start,
    /// in another process. A request through the proxy, sent at `t1` and answered by `t2`, arrived at the fake
    /// between them, at `arrival` on the fake's clock: so the fake started between `t1 - arrival` and
    /// `t2 - arrival`. Both ends are returned with the journal read after the probe.
    struct ClockedJournal: Sendable {
        var journal: JournalSnapshot
        /// The earliest and latest moment the fake can have started (this process's monotonic clock).
        var originLow: NIODeadline
        var originHigh: NIODeadline
    }

    /// Sends the clock probe to `model`, then reads its journal; `nil` for the origin when the probe is not in it.
    func clockedJournal(model: String, port: Int) async throws -> ClockedJournal {
        let before = NIODeadline.now()
        _ = try await request("GET", "/upstream/\(model)\(Self.clockPath)", port: port)
        let after = NIODeadline.now()
        let journal = try await self.journal(model: model, port: port)
        guard let probe = journal.requests.last(where: { $0.path == Self.clockPath }) else {
            throw SoakError("the clock probe of \(model) is not in its journal")
        }
        return ClockedJournal(
            journal: journal, originLow: before - .nanoseconds(probe.arrival),
            originHigh: after - .nanoseconds(probe.arrival))
    }
}
