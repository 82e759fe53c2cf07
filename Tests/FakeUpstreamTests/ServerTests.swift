import DurationMath
import Foundation
import InMemoryLogging
import Logging
import NIOCore
import TestSupport
import Testing

@testable import FakeUpstream
import RawHTTP

/// The connection executor over real loopback sockets: what only sockets show (each write is its own read, FIN
/// and RST as the client sees them, gates, keep-alive, many connections), with bounds that load cannot break:
/// lower bounds, order, separate reads held apart by gates. The exact schedule (each action at `epoch + at`, not a
/// nanosecond early, no lateness) is asserted on a test clock in `ExecutorScheduleTests`.
/// Serialized so the 200-connection test does not run beside this suite's own socket tests.
@Suite("FakeUpstreamServer", .serialized)
struct ServerTests {
    @Test func eachWriteArrivesAsItsOwnRead() async throws {
        // Gates the test opens only once the client has read the previous write: if the fake buffered writes or
        // coalesced them, a piece would be missing or two would share a read; load cannot merge them, because the
        // next write does not exist before the previous one was read. After each gate a wait, so each piece also
        // has a lower bound from the gate's opening.
        let gap = Duration.milliseconds(50)
        let plan = [
            TimedAction(at: .zero, .write(responseHead(contentLength: 6) + Array("ab".utf8))),
            TimedAction(at: .zero, .gate("cd")),
            TimedAction(at: gap, .write(Array("cd".utf8))),
            TimedAction(at: gap, .gate("ef")),
            TimedAction(at: gap, .write(Array("ef".utf8))),
            TimedAction(at: gap, .end(.clean)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            try await client.send(getRequest("/split"))
            try await client.waitFor("the head and 'ab'") { $0.text.hasSuffix("ab") }
            for (gate, piece) in [("cd", "cd"), ("ef", "ef")] {
                let releasedAt = NIODeadline.now()
                server.releaseGate(gate)
                let received = try await client.waitFor("'\(piece)'") { $0.text.hasSuffix(piece) }
                let last = try #require(received.reads.last)
                #expect(String(decoding: last.bytes, as: UTF8.self) == piece, "'\(piece)' shares a read")
                #expect(last.at - releasedAt >= TimeAmount(gap), "'\(piece)' earlier than \(gap) after its gate")
            }
            #expect(client.snapshot.reads.count == 3)
        }
    }

    @Test func plannedWaitIsNeverEarlyAndArrivesUnderLoad() async throws {
        // Issue 2's "a 500 ms wait observed within ±20 ms": the exact part (the write scheduled at arrival + 500 ms,
        // not a nanosecond early, no lateness of its own) is ExecutorScheduleTests.
        // aWaitGoesOutExactlyAtItsOffsetFromTheArrival. Here, over real sockets: the fake's journal says it
        // scheduled the write at exactly 500 ms and wrote it no earlier; the client's first byte comes no earlier
        // than 500 ms after the fake had the request (same monotonic clock, same process: an exact lower bound);
        // and no later than 500 ms + 250 ms × the timing factor: delivery on NIO's shared 2-thread group, which
        // every test running in parallel also uses. Seen at most 2.9 ms late in 12 parallel full-suite runs on the
        // 2-core machine (2 of them beside a CPU hog); 250 ms still fails a wait counted twice or from the wrong
        // epoch. On an idle machine: SchedulingBench (p99 0.48 ms client-observed).
        let body = Array("late".utf8)
        let plan = [
            TimedAction(at: .milliseconds(500), .write(responseHead(contentLength: body.count) + body)),
            TimedAction(at: .milliseconds(500), .end(.clean)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            _ = try await client.send(getRequest("/wait"))
            let received = try await client.waitForBytes(1)
            let request = try #require(server.journal.snapshot.requests.first)
            let arrivedAt = server.journal.origin + .nanoseconds(request.arrival)
            let observed = received.reads[0].at - arrivedAt
            #expect(request.writes.first?.scheduled == 500_000_000)
            #expect((request.writes.first?.offset ?? 0) >= 500_000_000)
            #expect(observed >= .milliseconds(500), "first byte after \(observed.milliseconds) ms, planned 500 ms")
            #expect(
                observed.milliseconds <= 500 + 250 * TimingSlack.factor,
                "first byte after \(observed.milliseconds) ms, planned 500 ms")
        }
    }

    @Test(arguments: [
        (Ending.fin, RawTCPClient.Ending.eof),
        (Ending.close, RawTCPClient.Ending.eof),
        (Ending.rst, RawTCPClient.Ending.reset),
    ])
    func endingIsSeenByTheClient(ending: Ending, seen: RawTCPClient.Ending) async throws {
        let head = responseHead(contentLength: 100)
        let plan = [TimedAction(at: .zero, .write(head)), TimedAction(at: .milliseconds(20), .end(ending))]
        try await withServer(PlanResponder(plan)) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            try await client.send(getRequest("/end"))
            #expect(try await client.waitForEnding() == seen)
            let journal = try await server.waitFor(timeout: .seconds(5)) { $0.connection(1)?.closedAt != nil }
            #expect(journal.requests.first?.end?.kind == ending.rawValue)
            #expect(journal.connection(1)?.bytesWritten == head.count)
            await client.close()
        }
    }

    @Test func halfCloseLetsTheClientSendAndRecordsItsLaterClose() async throws {
        let body = Array("bye".utf8)
        let plan = [
            TimedAction(at: .zero, .write(responseHead(contentLength: 3) + body)),
            TimedAction(at: .zero, .end(.halfClose)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            try await client.send(getRequest("/first"))
            #expect(try await client.waitForEnding() == .eof)
            #expect(client.snapshot.text.hasSuffix("bye"))

            try await client.send(getRequest("/after-half-close"))
            try await server.waitFor(timeout: .seconds(5), "the request sent after the half-close") {
                $0.requests.count == 2
            }
            try await client.shutdownOutput()

            let journal = try await server.waitFor(timeout: .seconds(5), "the client's close") {
                $0.connection(1)?.peerClose != nil
            }
            let connection = try #require(journal.connection(1))
            #expect(connection.requests.map(\.path) == ["/first", "/after-half-close"])
            #expect(connection.requests[0].end?.kind == "half-close")
            #expect(connection.requests[1].rule == "unanswered", "it used no scripted response")
            #expect(connection.peerClose?.kind == .fin)
            #expect(connection.peerClose?.bytesWritten == responseHead(contentLength: 3).count + 3)
            await client.close()
        }
    }

    @Test func hangHoldsUntilTheClientLeavesWhileOthersAreServed() async throws {
        let head = responseHead(contentLength: 10)
        let responder = PlanResponder { request in
            if request.path == "/hang" {
                return ResponsePlan(actions: [
                    TimedAction(at: .zero, .write(head)), TimedAction(at: .zero, .end(.hang)),
                ])
            }
            return ResponsePlan(actions: [
                TimedAction(at: .zero, .write(responseHead(contentLength: 2) + Array("ok".utf8))),
                TimedAction(at: .zero, .end(.clean)),
            ])
        }
        try await withServer(responder) { server, port in
            let hanging = try await RawTCPClient.connect(port: port)
            try await hanging.send(getRequest("/hang"))
            try await hanging.waitForBytes(head.count)

            let other = try await RawTCPClient.connect(port: port)
            try await other.send(getRequest("/other"))
            let served = try await other.waitFor("the other response") { $0.text.hasSuffix("ok") }
            #expect(served.ending == nil)
            #expect(hanging.snapshot.ending == nil)
            #expect(hanging.snapshot.bytes.count == head.count)
            await other.close()

            let leftAt = NIODeadline.now()
            await hanging.close()
            let journal = try await server.waitFor(timeout: .seconds(5), "the client's close") {
                $0.connection(1)?.peerClose != nil
            }
            let connection = try #require(journal.connection(1))
            let peerClose = try #require(connection.peerClose)
            #expect(peerClose.kind == .fin)
            #expect(peerClose.bytesWritten == head.count)
            #expect(connection.requests.first?.end?.kind == "hang")
            #expect(peerClose.at >= server.journal.sinceStart(leftAt))
            #expect(try #require(peerClose.sinceRequestArrival) > 0)
        }
    }

    @Test func clientResetIsJournaled() async throws {
        let plan = [
            TimedAction(at: .zero, .write(responseHead(contentLength: 10))), TimedAction(at: .zero, .end(.hang)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            try await client.send(getRequest("/reset-me"))
            try await client.waitForBytes(1)
            try await client.reset()
            let journal = try await server.waitFor(timeout: .seconds(5), "the client's close") {
                $0.connection(1)?.peerClose != nil
            }
            #expect(journal.connection(1)?.peerClose?.kind == .reset)
        }
    }

    enum Release: CaseIterable, Sendable {
        case inProcess, http
    }

    @Test(arguments: Release.allCases)
    func gateHoldsUntilReleasedAndLaterOffsetsCountFromTheRelease(release: Release) async throws {
        let after = Duration.milliseconds(100)
        let plan = [
            TimedAction(at: .zero, .write(responseHead(contentLength: 2) + Array("a".utf8))),
            TimedAction(at: .zero, .gate("go ahead")),
            TimedAction(at: after, .write(Array("b".utf8))),
            TimedAction(at: after, .end(.clean)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            try await client.send(getRequest("/gated"))
            let headBytes = responseHead(contentLength: 2).count + 1
            try await client.waitForBytes(headBytes)
            await #expect(throws: RawTCPClient.Timeout.self) {
                try await client.waitForBytes(headBytes + 1, timeout: .milliseconds(300))
            }

            let releasedAt = NIODeadline.now()
            switch release {
            case .inProcess:
                server.releaseGate("go ahead")
            case .http:
                let control = try await RawTCPClient.connect(port: port)
                try await control.send(
                    "POST /__harness/gates/go%20ahead HTTP/1.1\r\nHost: fake\r\nContent-Length: 0\r\n\r\n")
                let answer = try await control.waitFor("the release answer") { $0.text.contains("\"released\"") }
                #expect(answer.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
                await control.close()
            }
            let received = try await client.waitForBytes(headBytes + 1)
            let last = try #require(received.reads.last)
            // Never before `after` from the release (the release is stamped after `releasedAt`). The upper bound only
            // shows that the release wakes the waiting connection (rather than a later timer or request): 2 s × the
            // timing factor holds on a loaded 2-core machine; the exact offset from the release is
            // ExecutorScheduleTests.offsetsAfterAGateCountFromItsRelease (and the journal check below).
            #expect(last.at - releasedAt >= TimeAmount(after))
            #expect((last.at - releasedAt).milliseconds < after.milliseconds + 2000 * TimingSlack.factor)

            let journal = try await server.waitFor(timeout: .seconds(5)) { $0.requests.first?.end != nil }
            let request = try #require(journal.requests.first)
            let gate = try #require(request.gates.first)
            #expect(gate.name == "go ahead")
            #expect(request.writes.last!.scheduled == gate.passedAt + after.nanoseconds)
            #expect(journal.requests.count == 1, "harness requests are not journaled")
        }
    }

    @Test func gateReleasedBeforehandLetsTheResponsePassAtOnce() async throws {
        let plan = [
            TimedAction(at: .zero, .gate("early")),
            TimedAction(at: .zero, .write(responseHead(contentLength: 0))),
            TimedAction(at: .zero, .end(.clean)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            server.releaseGate("early")
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            // That the response passes without waiting is ExecutorScheduleTests.aGateReleasedBeforehandIsPassedOnArrival
            // (no loop time passes); here only that it arrives, within the wait's limit.
            try await client.send(getRequest("/early"))
            try await client.waitForBytes(responseHead(contentLength: 0).count, timeout: TimingSlack.scaled(.seconds(5)))
        }
    }

    @Test func keepAliveServesRequestsInOrderIncludingPipelined() async throws {
        let responder = PlanResponder { request in
            let body = Array(request.path.utf8)
            return ResponsePlan(actions: [
                TimedAction(at: .milliseconds(30), .write(responseHead(contentLength: body.count) + body)),
                TimedAction(at: .milliseconds(30), .end(.clean)),
            ])
        }
        try await withServer(responder) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            try await client.send(getRequest("/one"))
            try await client.waitFor("the first response") { $0.text.hasSuffix("/one") }
            try await client.send(getRequest("/two") + getRequest("/three"))
            let received = try await client.waitFor("both pipelined responses") { $0.text.hasSuffix("/three") }
            #expect(received.ending == nil)
            #expect(received.text.components(separatedBy: "HTTP/1.1 200 OK").count == 4)
            #expect(received.text.range(of: "/two")!.lowerBound < received.text.range(of: "/three")!.lowerBound)

            let journal = server.journal.snapshot
            #expect(journal.connections.count == 1)
            #expect(journal.requests.map(\.path) == ["/one", "/two", "/three"])
            let third = journal.requests[2]
            let second = journal.requests[1]
            // The pipelined third response starts when the second ends, not when it arrived.
            let secondEndedAt = second.arrival + second.end!.offset
            #expect(third.writes[0].offset >= secondEndedAt - third.arrival + 30_000_000 - 1_000_000)
        }
    }

    @Test func journalEndpointServesJSONWithTheWrites() async throws {
        let binary: [UInt8] = [0xff, 0x00, 0xfe]
        let plan = [
            TimedAction(at: .zero, .write(responseHead(contentLength: 5) + Array("hi".utf8))),
            TimedAction(at: .zero, .write(binary)),
            TimedAction(at: .zero, .end(.clean)),
        ]
        try await withServer(PlanResponder(plan)) { _, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            try await client.send(
                "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: fake\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 17\r\n\r\n{\"model\":\"tiny\"}\n")
            try await client.waitForBytes(responseHead(contentLength: 5).count + 5)

            try await client.send(getRequest("/__harness/journal"))
            let received = try await client.waitFor("the journal") { received in
                guard let split = received.text.range(of: "\r\n\r\n", options: .backwards) else { return false }
                return (try? JSONSerialization.jsonObject(with: Data(received.text[split.upperBound...].utf8))) != nil
            }
            let text = received.text
            let json = String(text[text.range(of: "\r\n\r\n", options: .backwards)!.upperBound...])
            let journal = try JSONDecoder().decode(JournalSnapshot.self, from: Data(json.utf8))
            let request = try #require(journal.requests.first)
            #expect(journal.requests.count == 1)
            #expect(request.path == "/v1/chat/completions")
            #expect(request.query == "x=1")
            #expect(request.body.text == "{\"model\":\"tiny\"}\n")
            #expect(request.writes.map(\.bytes.bytes) == [responseHead(contentLength: 5) + Array("hi".utf8), binary])
            #expect(json.contains("\"base64\":\"\(Data(binary).base64EncodedString())\""))
        }
    }

    @Test func malformedRequestGetsA400Envelope() async throws {
        try await withServer(PlanResponder([TimedAction(at: .zero, .end(.clean))])) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            try await client.send("THIS IS NOT HTTP\r\n\r\n")
            #expect(try await client.waitForEnding() == .eof)
            let text = client.snapshot.text
            #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
            #expect(text.contains("\"type\":\"invalid_request_error\""))
            #expect(server.journal.snapshot.requests.isEmpty)
        }
    }

    @Test func manyConcurrentConnectionsEachGetTheirOwnTimedPlan() async throws {
        let count = 200
        let responder = PlanResponder { request in
            let n = Int(request.path.dropFirst()) ?? 0
            let body = Array("\(n)".utf8)
            let delay = Duration.milliseconds(20 * (n % 10))
            return ResponsePlan(actions: [
                TimedAction(at: delay, .write(responseHead(contentLength: body.count) + body)),
                TimedAction(at: delay, .end(.close)),
            ])
        }
        try await withServer(responder) { server, port in
            let observed = try await withThrowingTaskGroup(of: (Int, Double, String).self) { group in
                for n in 0..<count {
                    group.addTask {
                        let client = try await RawTCPClient.connect(port: port)
                        let sentAt = try await client.send(getRequest("/\(n)"))
                        #expect(try await client.waitForEnding(timeout: .seconds(30)) == .eof)
                        let received = client.snapshot
                        await client.close()
                        return (n, (received.reads[0].at - sentAt).milliseconds, received.text)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(observed.count == count)
            for (n, delay, text) in observed {
                #expect(text.hasSuffix("\r\n\r\n\(n)"))
                #expect(delay >= Double(20 * (n % 10)) - 2, "connection \(n) answered after \(delay) ms")
            }
            let journal = try await server.waitFor(timeout: .seconds(10)) { $0.requests.count == count }
            for request in journal.requests {
                let n = Int(request.path.dropFirst())!
                #expect(request.writes.count == 1)
                #expect(request.writes[0].scheduled == Int64(20 * (n % 10)) * 1_000_000)
                #expect(request.writes[0].offset >= request.writes[0].scheduled)
            }
        }
    }
    @Test func peerLeavingCancelsThePendingActions() async throws {
        let plan = [
            TimedAction(at: .zero, .write(responseHead(contentLength: 2) + Array("a".utf8))),
            TimedAction(at: .seconds(30), .write(Array("b".utf8))),
            TimedAction(at: .seconds(30), .end(.clean)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            try await client.send(getRequest("/long"))
            try await client.waitForBytes(responseHead(contentLength: 2).count + 1)
            await client.close()
            let journal = try await server.waitFor(timeout: .seconds(5), "the fake to close") {
                $0.connection(1)?.closedAt != nil
            }
            let request = try #require(journal.requests.first)
            #expect(request.writes.count == 1)
            #expect(request.end == nil, "a response cut short by the peer has no end")
            #expect(journal.connection(1)?.peerClose?.kind == .fin)
        }
    }

    @Test func stopClosesHangingConnections() async throws {
        let plan = [TimedAction(at: .zero, .end(.hang))]
        let server = FakeUpstreamServer(
            responder: PlanResponder(plan), logger: Logger(label: "test") { _ in InMemoryLogHandler() })
        let port = try await server.start()
        let client = try await RawTCPClient.connect(port: port)
        try await client.send(getRequest("/hang"))
        try await server.waitFor(timeout: .seconds(5), "the request") { $0.requests.first?.end != nil }
        try await server.stop()
        #expect(try await client.waitForEnding() == .eof)
        await client.close()
    }

    @Test func responderSeesModelStreamAndUptime() async throws {
        let responder = PlanResponderWithUptime()
        try await withServer(responder) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            let body = #"{"model":"tiny-random-llama","stream":true,"messages":[]}"#
            try await client.send(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: fake\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let received = try await client.waitFor("the echo") { $0.text.hasSuffix("|end") }
            let echo = try #require(received.text.components(separatedBy: "\r\n\r\n").last)
            let fields = echo.split(separator: "|").map(String.init)
            #expect(fields.count == 4)
            #expect(fields[0] == "tiny-random-llama")
            #expect(fields[1] == "true")
            let uptime = try #require(Int64(fields[2]))
            let arrival = try #require(server.journal.snapshot.requests.first?.arrival)
            #expect(uptime == arrival)
        }
    }
    @Test func oneReleaseWakesEveryConnectionWaitingOnTheGate() async throws {
        let plan = [
            TimedAction(at: .zero, .gate("all")),
            TimedAction(at: .zero, .write(responseHead(contentLength: 0))),
            TimedAction(at: .zero, .end(.clean)),
        ]
        try await withServer(PlanResponder(plan)) { server, port in
            var clients: [RawTCPClient] = []
            for n in 0..<3 {
                let client = try await RawTCPClient.connect(port: port)
                try await client.send(getRequest("/\(n)"))
                clients.append(client)
            }
            try await server.waitFor(timeout: .seconds(5), "three requests") { $0.requests.count == 3 }
            server.releaseGate("all")
            for client in clients {
                try await client.waitForBytes(responseHead(contentLength: 0).count)
                await client.close()
            }
            let journal = server.journal.snapshot
            #expect(journal.requests.allSatisfy { $0.gates.map(\.name) == ["all"] })
        }
    }

    @Test(arguments: [
        ("GET /__harness/health HTTP/1.1\r\nHost: f\r\n\r\n", "HTTP/1.1 200 OK", "{\"status\":\"ok\"}"),
        ("GET /__harness/nope HTTP/1.1\r\nHost: f\r\n\r\n", "HTTP/1.1 404 Not Found", "\"code\":404"),
        ("DELETE /__harness/journal HTTP/1.1\r\nHost: f\r\n\r\n", "HTTP/1.1 405 Method Not Allowed", "\"code\":405"),
    ])
    func harnessEndpointsAnswerAndAreNotJournaled(request: String, status: String, bodyPart: String) async throws {
        try await withServer(PlanResponder([TimedAction(at: .zero, .end(.clean))])) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            try await client.send(request)
            let received = try await client.waitFor("the answer") { $0.text.contains(bodyPart) }
            #expect(received.text.hasPrefix(status + "\r\n"))
            #expect(server.journal.snapshot.requests.isEmpty)
        }
    }

    @Test func startingTwiceIsAnErrorAndAStoppedServerStartsAgain() async throws {
        let server = FakeUpstreamServer(
            responder: PlanResponder([TimedAction(at: .zero, .end(.clean))]),
            logger: Logger(label: "test") { _ in InMemoryLogHandler() })
        _ = try await server.start()
        await #expect(throws: FakeUpstreamServerError.self) { try await server.start() }
        try await server.stop()
        let port = try await server.start()
        let client = try await RawTCPClient.connect(port: port)
        try await client.send(getRequest("/__harness/health"))
        try await client.waitFor("health") { $0.text.contains("ok") }
        await client.close()
        try await server.stop()
    }
}

/// Echoes what the server told the responder: `model|stream|uptime-ns|end`.
private struct PlanResponderWithUptime: Responder {
    func respond(to request: RequestContext, uptime: Duration) -> ResponderDecision {
        let body = Array("\(request.model ?? "-")|\(request.stream)|\(uptime.nanoseconds)|end".utf8)
        return ResponderDecision(plan: ResponsePlan(actions: [
            TimedAction(at: .zero, .write(responseHead(contentLength: body.count) + body)),
            TimedAction(at: .zero, .end(.clean)),
        ]))
    }
}
