import LocatedYAML

extension YAMLReader {
    /// A response's step list: at least one step, and nothing after an `end`.
    func script(_ node: YAMLNode, _ key: String) throws(LocatedError) -> ResponseScript {
        var steps: [Step] = []
        var ended = false
        for item in try nonEmptyList(node, key, of: "steps") {
            if ended {
                throw error("step after 'end' would never be played; 'end' must be the last step", at: item)
            }
            let step = try self.step(item)
            if case .end = step { ended = true }
            steps.append(step)
        }
        return ResponseScript(steps: steps)
    }

    func step(_ node: YAMLNode) throws(LocatedError) -> Step {
        let kindList = ScenarioParser.Keys.stepKinds.joined(separator: ", ")
        guard node.mapping != nil else {
            throw mismatch("step", expected: "a mapping with one of \(kindList)", got: node)
        }
        let step = try fields(node, "step", allowed: ScenarioParser.Keys.step)
        let kinds = step.entries.filter { ScenarioParser.Keys.stepKinds.contains($0.key) }
        guard let kind = kinds.first else {
            if let option = step.entries.first {
                throw error("'\(option.key)' is only allowed on a 'status' step", at: option.keyNode)
            }
            throw error("step: expected one of \(kindList), got an empty mapping", at: node)
        }
        if kinds.count > 1 {
            throw error(
                "a step has exactly one kind, got both '\(kind.key)' and '\(kinds[1].key)'; "
                    + "write each as its own list item",
                at: kinds[1].keyNode)
        }
        if kind.key != "status", let option = step.entries.first(where: { $0.key != kind.key }) {
            throw error("'\(option.key)' is only allowed on a 'status' step", at: option.keyNode)
        }
        let value = kind.value
        switch kind.key {
        case "wait":
            return .wait(try duration(value, "wait"))
        case "status":
            return .head(try head(step))
        case "write":
            return .write(try bytes(value, "write"))
        case "event":
            return .event(try event(value))
        case "split":
            return .split(try split(value))
        case "tokens":
            return .tokens(try tokens(value))
        case "gate":
            return .gate(try oneLine(value, "gate"))
        default:
            return .end(try choice(value, "end", ScenarioParser.endings))
        }
    }

    func head(_ step: Fields) throws(LocatedError) -> ResponseHead {
        var head = ResponseHead(status: try status(step["status"]!, "status"))
        if let node = step["reason"] { head.reason = try oneLine(node, "reason") }
        if let node = step["headers"] { head.headers = try headers(node) }
        if let node = step["framing"] {
            head.framing = try choice(node, "framing", ScenarioParser.framings)
        }
        if let entry = step.entry("contentLength") {
            guard case .contentLength = head.framing, step.has("framing") else {
                throw error("contentLength: only allowed with 'framing: content-length'", at: entry.keyNode)
            }
            head.framing = .contentLength(
                declared: try integer(entry.value, "contentLength", in: 0...Int.max, expected: "a whole number >= 0"))
        }
        if head.framing == .raw { head.automaticHeaders = false }
        if let node = step["automaticHeaders"] {
            head.automaticHeaders = try bool(node, "automaticHeaders")
            if head.automaticHeaders && head.framing == .raw {
                throw error(
                    "automaticHeaders: 'framing: raw' sends the head exactly as written; use false or leave it out",
                    at: node)
            }
        }
        return head
    }

    func event(_ node: YAMLNode) throws(LocatedError) -> SSEEvent {
        let fields = try fields(node, "event", allowed: ScenarioParser.Keys.event)
        guard fields.entries.contains(where: { $0.key != "lineEnding" }) else {
            throw error("event: expected at least one of data, comment, event, id, retry", at: node)
        }
        var event = SSEEvent()
        if let node = fields["comment"] { event.comment = try oneLine(node, "comment", allowEmpty: true) }
        if let node = fields["event"] { event.event = try oneLine(node, "event", allowEmpty: true) }
        if let node = fields["id"] { event.id = try oneLine(node, "id", allowEmpty: true) }
        if let node = fields["retry"] {
            event.retry = try integer(node, "retry", in: 0...Int.max, expected: "a whole number of milliseconds >= 0")
        }
        if let node = fields["data"] { event.data = try bytes(node, "data") }
        if let node = fields["lineEnding"] {
            event.lineEnding = try choice(node, "lineEnding", ScenarioParser.lineEndings)
        }
        return event
    }

    func split(_ node: YAMLNode) throws(LocatedError) -> SplitWrite {
        let split = try fields(node, "split", allowed: ScenarioParser.Keys.split)
        let payload: [UInt8]
        switch (split.entry("write"), split.entry("event")) {
        case (let write?, nil): payload = try bytes(write.value, "write")
        case (nil, let event?): payload = try self.event(event.value).wireBytes
        case (.some, .some):
            let later = split.entries.last { $0.key == "write" || $0.key == "event" }!
            throw error("split: use either 'write' or 'event', not both", at: later.keyNode)
        case (nil, nil):
            throw error("split: missing key 'write' or 'event' (what to cut into pieces)", at: node)
        }
        guard let atNode = split["at"] else {
            throw error("split: missing key 'at' (byte offsets where to cut, such as [6, 40])", at: node)
        }
        var offsets: [Int] = []
        for item in try nonEmptyList(atNode, "at", of: "byte offsets") {
            let previous = offsets.last ?? 0
            let expected = "an offset > \(previous) and < \(payload.count) (the payload's byte count)"
            guard payload.count - previous >= 2 else {
                throw mismatch("at", expected: expected + ", but no cut is left", got: item)
            }
            offsets.append(try integer(item, "at", in: (previous + 1)...(payload.count - 1), expected: expected))
        }
        var gaps: [Duration] = [.zero]
        switch (split.entry("gap"), split.entry("gaps")) {
        case (let gap?, nil):
            gaps = [try duration(gap.value, "gap")]
        case (nil, let many?):
            let items = try list(many.value, "gaps", of: "durations")
            guard items.count == offsets.count else {
                throw error(
                    "gaps: expected one duration per offset in 'at' (\(offsets.count)), got \(items.count); "
                        + "use 'gap' for one gap between every piece",
                    at: many.value)
            }
            gaps = []
            for item in items { gaps.append(try duration(item, "gaps")) }
        case (.some, .some):
            let later = split.entries.last { $0.key == "gap" || $0.key == "gaps" }!
            throw error(
                "split: use either 'gap' (one for every cut) or 'gaps' (one per cut), not both", at: later.keyNode)
        case (nil, nil):
            break
        }
        return SplitWrite(bytes: payload, offsets: offsets, gaps: gaps)
    }

    func tokens(_ node: YAMLNode) throws(LocatedError) -> TokenStream {
        let fields = try fields(node, "tokens", allowed: ScenarioParser.Keys.tokens)
        guard let countNode = fields["count"] else {
            throw error("tokens: missing key 'count' (how many content tokens)", at: node)
        }
        var stream = TokenStream(
            count: try integer(countNode, "count", in: 0...10_000_000, expected: "a whole number from 0 to 10000000"))
        if let node = fields["perSecond"] {
            // At least one token per 1000 s, so the interval stays a sane duration.
            stream.perSecond = try number(node, "perSecond", expected: "a number >= 0.001") { $0 >= 0.001 }
        }
        if let node = fields["firstTokenAfter"] { stream.firstTokenAfter = try duration(node, "firstTokenAfter") }
        if let node = fields["jitter"] {
            stream.jitter = try number(node, "jitter", expected: "a number >= 0 and < 1") { $0 >= 0 && $0 < 1 }
        }
        if let node = fields["seed"] { stream.seed = try unsigned(node, "seed") }
        if let node = fields["style"] {
            stream.style = try choice(node, "style", ScenarioParser.styles)
        }
        if let node = fields["finish"] { stream.finish = try bool(node, "finish") }
        if let node = fields["words"] {
            stream.words = []
            for item in try list(node, "words", of: "words") { stream.words.append(try oneLine(item, "words")) }
        }
        return stream
    }
}

extension ScenarioParser {
    static let endings: KeyValuePairs<String, Ending> = [
        "clean": .clean, "close": .close, "fin": .fin, "rst": .rst, "half-close": .halfClose, "hang": .hang,
    ]
    static let framings: KeyValuePairs<String, Framing> = [
        "chunked": .chunked, "content-length": .contentLength(declared: nil), "close-delimited": .closeDelimited,
        "raw": .raw,
    ]
    static let lineEndings: KeyValuePairs<String, LineEnding> = ["lf": .lf, "crlf": .crlf, "cr": .cr]
    static let styles: KeyValuePairs<String, TokenStyle> = [
        "chat": .chat, "completion": .completion, "native": .native,
    ]
}
