import Foundation
import InMemoryLogging
import Logging
import NIOCore
import Testing
import Wire

@testable import FakeUpstream
import TestSupport

/// The connection executor over real loopback sockets: timing, faults, gates, keep-alive, many connections.
/// Serialized so the timing tests do not compete with the 200-connection test for the two cores.
@Suite("FakeUpstreamServer", .serialized)
struct ServerTests {
    @Test func writesSeparatedByGapsArriveAsSeparateReads() async throws {
        let pieces = ["ab", "cd", "ef"]
        let gap = TimingSlack.scaled(.milliseconds(80))
        var actions = [TimedAction(at: .zero, .write(responseHead(contentLength: 6) + Array(pieces[0].utf8)))]
        actions.append(TimedAction(at: gap, .write(Array(pieces[1].utf8))))
        actions.append(TimedAction(at: gap * 2, .write(Array(pieces[2].utf8))))
        actions.append(TimedAction(at: gap * 2, .end(.clean)))

        try await withServer(PlanResponder(actions)) { _, port in
            let client = try await RawTCPClient.connect(port: port)
            defer { Task { await client.close() } }
            let sentAt = try await client.send(getRequest("/split"))
            let received = try await client.waitFor("the whole body") { $0.text.hasSuffix("abcdef") }
            #expect(received.reads.count == 3)
            #expect(received.reads.dropFirst().map { String(decoding: $0.bytes, as: UTF8.self) } == ["cd", "ef"])
            // The last piece cannot arrive before it was written, two gaps after the request (a late first read
            // may shorten the gaps between reads, so they are not bounded one by one).
            let last = try #require(received.reads.last)
            #expect((last.at - sentAt).milliseconds >= (gap * 2).milliseconds - 1)
        }
    }

    @Test func plannedWaitIsObservedWithinTwentyMilliseconds() async throws {
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
            // From the moment the fake had the whole request (the script's epoch; same monotonic clock, same
            // process) to the first byte at the client: the scripted wait plus delivery, without the time the
            // request took to arrive, which other tests running in parallel can stretch.
            let arrival = try #require(server.journal.snapshot.requests.first?.arrival)
            let arrivedAt = server.journal.origin + .nanoseconds(arrival)
            let observed = (received.reads[0].at - arrivedAt).milliseconds
            #expect(abs(observed - 500) <= 20 * TimingSlack.factor, "first byte after \(observed) ms, planned 500 ms")
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
            await #expect(throws: WaitTimeout.self) {
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
            #expect((last.at - releasedAt).milliseconds >= after.milliseconds - 5)
            if TimingSlack.strict { #expect((last.at - releasedAt).milliseconds < after.milliseconds + 1000) }

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
            let sentAt = try await client.send(getRequest("/early"))
            let received = try await client.waitForBytes(responseHead(contentLength: 0).count, timeout: .seconds(5))
            #expect((received.reads[0].at - sentAt).milliseconds < 1000 * TimingSlack.factor)
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
