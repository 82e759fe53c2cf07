import FakeUpstream
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import Harness

/// The timeline report: well-formed, self-contained, and with a mark for every write, read and heartbeat.
@Suite struct ReportTests {
    static func result(verdict failing: Bool) -> ReplayResult {
        let timeline = ReplayTimeline(
            clientReads: [
                .init(at: .milliseconds(100), byteCount: 13, heartbeats: 1, completedHead: true, attempt: 0, preview: ": keepalive"),
                .init(at: .milliseconds(200), byteCount: 13, heartbeats: 1, completedHead: false, attempt: 0, preview: ": keepalive"),
                .init(at: .milliseconds(250), byteCount: 40, heartbeats: 0, completedHead: false, attempt: 0, preview: "data: <b>&\"x\"</b>"),
            ],
            upstreamWrites: [
                .init(at: .milliseconds(240), byteCount: 120, attempt: 0, preview: "HTTP/1.1 200 OK"),
                .init(at: .milliseconds(245), byteCount: 40, attempt: 0, preview: "data: <b>&</b>"),
            ],
            attempts: [.init(start: .zero, end: .milliseconds(300), ending: "gave up (read timer)",
                deadline: .milliseconds(300), deadlineRule: .read, timedOut: true)],
            upstreamCloses: [.milliseconds(302)])
        let facts = ReplayFacts(
            outcome: .timedOut(at: .milliseconds(300), rule: .read), attempts: 1, status: 200, maxGap: .milliseconds(100),
            heartbeatGaps: [.milliseconds(100), .milliseconds(100)], heartbeats: 2, clientBody: [], upstreamBody: [],
            inBandError: false, upstreamCloseDelay: .milliseconds(2), clientClosed: true)
        return ReplayResult(
            scenario: "report<test>", file: nil, description: "a \"quoted\" & <tagged> description", timeScale: 0.01,
            topology: "direct", profile: ClientProfiles.nginx.scaled(by: 0.01), heartbeatComment: "keepalive",
            outcome: facts.outcome, attempts: 1, status: 200, maxGap: facts.maxGap, heartbeats: 2, bytesReceived: 66,
            expectations: [
                ExpectationResult(key: "client", expected: "completes", actual: "times out", status: failing ? .failed : .passed),
                ExpectationResult(
                    key: "heartbeats", expected: "2", actual: "2",
                    status: failing ? .skipped("needs the proxy") : .passed),
            ],
            timeline: timeline, facts: facts, attemptTimelines: [])
    }

    /// Element names and their `class` attributes, from an XML parse of the page.
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [(name: String, classes: String)] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]) {
            elements.append((name, attributes["class"] ?? ""))
        }
    }

    static func parse(_ html: String) throws -> [(name: String, classes: String)] {
        // The doctype is HTML's; everything after it must be well-formed XML.
        let body = html.replacingOccurrences(of: "<!DOCTYPE html>", with: "")
        let parser = XMLParser(data: Data(body.utf8))
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        return collector.elements
    }

    @Test(arguments: [false, true])
    func thePageIsWellFormedAndMarksEverything(failing: Bool) throws {
        let html = TimelineReport.html([Self.result(verdict: failing)])
        let elements = try Self.parse(html)
        func count(_ name: String, _ cls: String) -> Int { elements.filter { $0.name == name && $0.classes == cls }.count }
        // One legend mark each, plus the run's marks.
        #expect(count("rect", "write") == 1 + 2)
        #expect(count("path", "heartbeat") == 1 + 2)
        #expect(count("circle", "read") == 1 + 1)
        #expect(count("line", "deadline") == 1 + 1)
        #expect(count("path", "giveup") == 1 + 1)
        #expect(count("path", "upclose") == 1 + 1)
        #expect(count("rect", "attempt") == 1 + 1)
        #expect(count("section", failing ? "run fail" : "run pass") == 1)
        #expect(html.contains(failing ? ">FAIL<" : ">PASS<"))
        #expect(count("tr", "skip") == (failing ? 1 : 0))
        #expect(html.contains("report&lt;test&gt;"))
        #expect(html.contains("time scale 0.01"))
        #expect(count("text", "tick") >= 4)
    }

    @Test func thePageNeedsNothingFromTheNetwork() {
        let html = TimelineReport.html([Self.result(verdict: false), Self.result(verdict: true)])
        #expect(!html.contains("http://"))
        #expect(!html.contains("https://"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("@import"))
        #expect(!html.contains("url("))
        #expect(!html.contains("<link"))
    }

    @Test func aRealRunRendersEveryWrite() async throws {
        var scenario = Scenario(
            name: "report-run", description: "a short stream",
            rules: [ResponseRule(responses: [ResponseScript(steps: [
                .wait(.milliseconds(20)), .tokens(TokenStream(count: 5, perSecond: 200)), .end(.close),
            ])], repeats: true)])
        scenario.spec = ScenarioSpec(expect: Expectations(client: .completes))
        let result = try await ReplayRunner.run(scenario, options: ReplayOptions(timeScale: 1))
        let elements = try Self.parse(TimelineReport.html([result]))
        #expect(elements.filter { $0.classes == "write" }.count == 1 + result.timeline.upstreamWrites.count)
        #expect(elements.filter { $0.classes == "read" }.count == 1 + result.timeline.clientReads.count)
        #expect(result.timeline.upstreamWrites.count >= 7)
    }

    @Test(arguments: [(0.0003, 0.0005), (0.7, 1.0), (3.0, 5.0), (12.0, 20.0), (130.0, 200.0)])
    func ticksAreRound(raw: Double, step: Double) {
        #expect(abs(TimelineReport.niceStep(raw) - step) < 1e-12)
    }

    @Test func textTimelineIsOrderedAndBounded() {
        let lines = TimelineText.lines(Self.result(verdict: true).timeline)
        #expect(lines.first?.contains("sends request #1") == true)
        #expect(lines.contains { $0.contains("gives up: read timer") })
        let times = lines.compactMap { Double($0.split(separator: " ").first ?? "") }
        #expect(times == times.sorted())
        #expect(TimelineText.preview(Array("a\nb\r".utf8)) == "a⏎b␍")
    }
}
