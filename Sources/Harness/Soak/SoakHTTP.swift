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
        return Answer(status: attempt.response.head?.status, body: attempt.reads.flatMap(\.body), complete: complete)
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
}
