import Foundation
import Testing

@testable import Harness

/// A replay's timeline as the one model (what the proxy serves live, too): every write, read, heartbeat, request
/// and deadline on its lane, and the same JSON form the web UI reads from the proxy.
@Suite struct TimelineModelTests {
    @Test func aReplayIsTheSameModelAsALiveRequest() throws {
        let result = ReportTests.result(verdict: true)
        let model = result.timeline.model(profile: "nginx")
        #expect(model.events(on: .upstream).filter { $0.mark == .bytes }.map(\.bytes) == [120, 40])
        #expect(model.events(on: .upstream).filter { $0.mark == .close }.map(\.t) == [.milliseconds(302)])
        #expect(model.events(on: .heartbeat).map(\.t) == [.milliseconds(100), .milliseconds(200)])
        #expect(model.events(on: .client).map(\.t) == [.milliseconds(250)])
        #expect(model.events(on: .request).map(\.mark) == [.span, .giveUp])
        #expect(model.deadlines == [.init(profile: "nginx", t: .milliseconds(300), rule: .read, fired: true)])
        #expect(model.end == .milliseconds(302))

        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(("{" + model.jsonMembers + "}").utf8)) as? [String: Any])
        let events = try #require(json["events"] as? [[String: Any]])
        #expect(events.count == model.events.count)
        #expect(Set(events.compactMap { $0["lane"] as? String }) == ["request", "upstream", "heartbeat", "client"])
        #expect(events.allSatisfy { !($0["label"] as? String ?? "").isEmpty })
        let deadline = try #require((json["deadlines"] as? [[String: Any]])?.first)
        #expect((deadline["t"] as? NSNumber)?.doubleValue == 300)
        #expect(deadline["label"] as? String == "nginx gives up (read) at 300 ms")
    }
}
