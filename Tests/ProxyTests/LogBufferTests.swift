import Logging
import Testing

@testable import Proxy

@Suite struct LogBufferTests {
    @Test func keepsTheLastLinesInOrder() {
        let buffer = LogBuffer(capacity: 3)
        for number in 1...5 { buffer.append("line \(number)") }
        #expect(buffer.snapshot() == ["line 3", "line 4", "line 5"])
    }

    @Test func prefixesTheSource() {
        let buffer = LogBuffer()
        buffer.append("listening", source: "model-a")
        #expect(buffer.snapshot() == ["[model-a] listening"])
    }

    @Test func liveReaderGetsNewLinesAndHistoryWhenAsked() async {
        let buffer = LogBuffer()
        buffer.append("old")
        let live = buffer.subscribe()
        let withHistory = buffer.subscribe(includeHistory: true)
        buffer.append("new")
        buffer.finishSubscribers()
        var liveLines: [String] = []
        for await line in live { liveLines.append(line) }
        var historyLines: [String] = []
        for await line in withHistory { historyLines.append(line) }
        #expect(liveLines == ["new"])
        #expect(historyLines == ["old", "new"])
    }

    @Test func slowReaderLosesTheOldestLinesInsteadOfGrowing() async {
        let buffer = LogBuffer(capacity: 100, subscriberBufferSize: 2)
        let stream = buffer.subscribe()
        for number in 1...10 { buffer.append("\(number)") }
        buffer.finishSubscribers()
        var received: [String] = []
        for await line in stream { received.append(line) }
        #expect(received == ["9", "10"])
        #expect(buffer.droppedForSubscribers == 8)
    }

    @Test func readerThatGoesAwayIsForgotten() async {
        let buffer = LogBuffer()
        let stream = buffer.subscribe()
        #expect(buffer.subscriberCount == 1)
        let reader = Task {
            var count = 0
            for await _ in stream { count += 1 }
            return count
        }
        reader.cancel()
        _ = await reader.value
        #expect(buffer.subscriberCount == 0)
        buffer.append("after")
        #expect(buffer.snapshot() == ["after"])
    }
}

@Suite struct LogBufferLogHandlerTests {
    @Test func proxyMessagesLandInTheBufferAtTheirLevel() {
        let buffer = LogBuffer()
        var logger = Logger(label: "test") { _ in LogBufferLogHandler(buffer: buffer, logLevel: .info) }
        logger[metadataKey: "pid"] = "42"
        logger.debug("not kept")
        logger.info("starting model", metadata: ["model": "llama"])
        #expect(buffer.snapshot() == ["[proxy] info: starting model model=llama pid=42"])
    }
}

@Suite struct LogBufferLineSplitterTests {
    @Test(
        arguments: [
            ("a\nb\n", ["a", "b"], nil),
            ("a\r\nb\r\n", ["a", "b"], nil),
            ("progress 1\rprogress 2\rdone\n", ["progress 1", "progress 2", "done"], nil),
            ("no end", [], "no end"),
            ("\n\n", ["", ""], nil),
        ] as [(String, [String], String?)])
    func splitsLines(input: String, lines: [String], rest: String?) {
        var splitter = LineSplitter()
        #expect(splitter.feed(Array(input.utf8)) == lines)
        #expect(splitter.finish() == rest)
    }

    @Test func carriageReturnAndLineFeedSplitAcrossFeeds() {
        var splitter = LineSplitter()
        #expect(splitter.feed(Array("a\r".utf8)) == ["a"])
        #expect(splitter.feed(Array("\nb\n".utf8)) == ["b"])
    }

    @Test func cutsRunawayLines() {
        var splitter = LineSplitter(maxLineLength: 4)
        #expect(splitter.feed(Array("abcdefghij\n".utf8)) == ["abcd", "efgh", "ij"])
    }
}
