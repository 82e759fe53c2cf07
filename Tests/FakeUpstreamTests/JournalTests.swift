import Foundation
import NIOCore
import Testing

@testable import FakeUpstream

@Suite("Journal")
struct JournalTests {
    @Test(arguments: [
        ([UInt8]("data: {\"x\":1}\n\n".utf8), "text"),
        ([0xff, 0xfe, 0x00], "base64"),
        ([0xe2, 0x82], "base64"),  // a cut UTF-8 sequence is not text
        ([], "text"),
    ])
    func bytesEncodeAsTextOrBase64AndRoundTrip(bytes: [UInt8], key: String) throws {
        let json = try JSONEncoder().encode(JournalBytes(bytes))
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: String])
        #expect(Array(object.keys) == [key])
        #expect(try JSONDecoder().decode(JournalBytes.self, from: json).bytes == bytes)
    }

    @Test func invalidBase64IsADecodingError() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(JournalBytes.self, from: Data(#"{"base64":"*not*"}"#.utf8))
        }
    }

    @Test func recordsTimesRelativeToTheOriginAndTheArrival() throws {
        let origin = NIODeadline.now()
        let journal = Journal(origin: origin)
        let id = journal.openConnection(remoteAddress: "peer", at: origin + .milliseconds(5))
        let request = journal.record(
            RequestRecord(
                method: "GET", path: "/", query: nil, headers: [], body: JournalBytes([]),
                arrival: journal.sinceStart(origin + .milliseconds(10)), scenario: nil, rule: nil, timeScale: 1),
            on: id)
        journal.recordWrite(
            WriteRecord(offset: 2_000_000, scheduled: 1_000_000, bytes: [1, 2, 3]), connection: id, request: request)
        journal.recordBytesWritten(3, connection: id)
        journal.recordPeerClose(.fin, at: origin + .milliseconds(30), connection: id)
        journal.recordPeerClose(.reset, at: origin + .milliseconds(40), connection: id)

        let connection = try #require(journal.snapshot.connection(id))
        #expect(connection.acceptedAt == 5_000_000)
        #expect(connection.requests[0].arrival == 10_000_000)
        #expect(connection.requests[0].writes[0].byteCount == 3)
        #expect(
            connection.peerClose
                == PeerClose(kind: .fin, at: 30_000_000, sinceRequestArrival: 20_000_000, bytesWritten: 3))
    }

    @Test func recordsForUnknownConnectionsOrRequestsAreDropped() {
        let journal = Journal()
        let id = journal.openConnection(remoteAddress: nil, at: .now())
        journal.recordWrite(WriteRecord(offset: 0, scheduled: 0, bytes: [1]), connection: id + 1, request: 0)
        journal.recordWrite(WriteRecord(offset: 0, scheduled: 0, bytes: [1]), connection: id, request: 3)
        journal.recordPeerClose(.reset, at: .now(), connection: 0)
        let connections = journal.snapshot.connections
        #expect(connections.count == 1)
        #expect(connections.first?.requests.isEmpty == true)
        #expect(connections.first?.peerClose == nil)
    }

    @Test func waitForWakesOnTheRecordThatSatisfiesIt() async throws {
        let journal = Journal()
        async let satisfied = journal.waitFor(timeout: .seconds(10), "two connections") { $0.connections.count == 2 }
        _ = journal.openConnection(remoteAddress: nil, at: .now())
        _ = journal.openConnection(remoteAddress: nil, at: .now())
        #expect(try await satisfied.connections.count == 2)
    }

    @Test func waitForTimesOutNamingWhatItAwaited() async throws {
        let journal = Journal()
        let error = await #expect(throws: WaitTimeout.self) {
            try await journal.waitFor(timeout: .milliseconds(50), "a connection") { !$0.connections.isEmpty }
        }
        #expect(error?.description.contains("a connection") == true)
    }
}
