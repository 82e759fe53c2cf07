import FakeUpstream
import Foundation
import RawHTTP

/// Turns a `RecordedExchange` into the text of a scenario file that replays it byte for byte.
///
/// The response head becomes a `status` step with `framing: raw` (the head exactly as the upstream wrote it); every
/// upstream read after it becomes one `write` step, preceded by the `wait` since the previous one. Waits come from
/// offsets rounded to microseconds once, so they add up to the recorded offsets without drift.
public enum RecordingWriter {
    /// Request bodies longer than this are cut in the file's comment.
    public static let commentedBodyLimit = 8192

    /// The scenario file's text.
    public static func yaml(for exchange: RecordedExchange) -> String {
        var lines: [String] = []
        let request = exchange.request
        lines += YAMLText.comment(
            "Recorded by `harness record` from \(exchange.upstream) at \(timestamp(exchange.date)).")
        lines += YAMLText.comment("Request: \(request.method) \(request.uri)")
        for field in request.headers {
            lines += YAMLText.comment(
                "  \(field.name): \(HeaderRedaction.redact(name: field.name, value: field.value))")
        }
        lines += bodyComment(request.body)
        if let note = exchange.note { lines += YAMLText.comment("Note: \(note)") }

        let response = ResponseSteps(exchange)
        lines += response.notes.flatMap { YAMLText.comment("Note: \($0)") }
        lines.append("description: " + YAMLText.doubleQuoted(description(exchange, response)))
        lines.append("strict: true")
        lines.append("responses:")
        lines.append("  - name: recorded")
        lines.append(
            "    match: {method: \(YAMLText.doubleQuoted(request.method)), path: \(YAMLText.doubleQuoted(request.path))}"
        )
        lines.append("    steps:")
        lines += response.lines.map { "      " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A file name for the exchange: `NNNN-method-path.yaml`, e.g. `0003-post-v1-chat-completions.yaml`.
    public static func fileName(for exchange: RecordedExchange, number: Int) -> String {
        let slug = (exchange.request.method + exchange.request.path).lowercased()
            .map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }
        let collapsed = String(slug).split(separator: "-").joined(separator: "-")
        let digits = String(number)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "-" + collapsed.prefix(60) + ".yaml"
    }

    static func description(_ exchange: RecordedExchange, _ response: ResponseSteps) -> String {
        let server = response.head?.value("Server") ?? "the server"
        let status = response.head.map { "\($0.status)" } ?? "no response"
        let bytes = exchange.reads.reduce(0) { $0 + $1.bytes.count }
        let span = exchange.reads.last.map { String(format: "%.3f", $0.offset.seconds) } ?? "0"
        let ending: String
        switch exchange.ending {
        case .close, .fin: ending = "then the upstream closed"
        case .rst: ending = "then the upstream reset the connection"
        case .clean: ending = "connection kept open"
        case .halfClose: ending = "then the upstream half-closed"
        case .hang: ending = "the upstream had not finished"
        }
        return "\(exchange.request.method) \(exchange.request.path) recorded from \(server) at \(exchange.upstream) "
            + "on \(timestamp(exchange.date)): \(status), \(bytes) bytes in \(exchange.reads.count) read\(exchange.reads.count == 1 ? "" : "s") over "
            + "\(span) s, \(ending)"
    }

    static func bodyComment(_ body: [UInt8]) -> [String] {
        guard !body.isEmpty else { return [] }
        let shown = Array(body.prefix(commentedBodyLimit))
        let cut = body.count > shown.count ? " (first \(shown.count) shown)" : ""
        var lines = YAMLText.comment("Request body, \(body.count) bytes\(cut):")
        if let text = String(validating: shown, as: UTF8.self) {
            lines += YAMLText.comment(text).map { "#   " + $0.dropFirst(min(2, $0.count)) }
        } else {
            lines += YAMLText.comment("  base64: " + Data(shown).base64EncodedString())
        }
        return lines
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// `12.345ms`: microseconds, enough for any gap a socket can show.
    static func duration(microseconds: Int64) -> String {
        String(format: "%.3fms", Double(microseconds) / 1000)
    }

    /// The response part of the file: steps, as lines, and anything a reader must know about them.
    struct ResponseSteps {
        var lines: [String] = []
        var notes: [String] = []
        var head: DecodedHead?

        init(_ exchange: RecordedExchange) {
            let decoder = ResponseDecoder(requestMethod: exchange.request.method)
            var cursor: Int64 = 0
            var headDone = false
            var pendingHead: [UInt8] = []
            for read in exchange.reads {
                let at = Self.microseconds(read.offset)
                var bytes = read.bytes[...]
                if !headDone {
                    let step = decoder.feed(bytes)
                    if step.completedHead, let decoded = decoder.head {
                        pendingHead += bytes.prefix(step.headBytes)
                        bytes = bytes.dropFirst(step.headBytes)
                        headDone = true
                        wait(until: at, cursor: &cursor)
                        statusStep(pendingHead, decoded)
                    } else if let problem = decoder.problem {
                        // Not an HTTP response head: where it ends is unknown, so the read goes with it.
                        pendingHead += bytes
                        bytes = []
                        headDone = true
                        wait(until: at, cursor: &cursor)
                        invalidHead(pendingHead, problem: problem)
                    } else {
                        pendingHead += bytes
                        continue
                    }
                }
                guard !bytes.isEmpty else { continue }
                wait(until: at, cursor: &cursor)
                lines.append("- write: " + YAMLText.bytes(Array(bytes)))
            }
            if !headDone && !pendingHead.isEmpty {
                notes.append(
                    "the upstream sent \(pendingHead.count) bytes but no complete head, which a scenario cannot "
                        + "replay; they were: " + Data(pendingHead).base64EncodedString())
            }
            if let endedAt = exchange.endedAt, [.close, .fin, .rst].contains(exchange.ending) {
                wait(until: Self.microseconds(endedAt), cursor: &cursor)
            }
            lines.append("- end: \(exchange.ending.rawValue)")
        }

        static func microseconds(_ duration: Duration) -> Int64 {
            let (seconds, attoseconds) = duration.components
            return max(0, seconds * 1_000_000 + (attoseconds + 500_000_000_000) / 1_000_000_000_000)
        }

        mutating func wait(until at: Int64, cursor: inout Int64) {
            guard at > cursor else { return }
            lines.append("- wait: " + RecordingWriter.duration(microseconds: at - cursor))
            cursor = at
        }

        mutating func invalidHead(_ bytes: [UInt8], problem: String) {
            notes.append(
                "the upstream's head is not a valid HTTP response head (\(problem)); replayed as a 502 instead; "
                    + "its bytes were: " + Data(bytes).base64EncodedString())
            lines.append("- status: 502")
            lines.append("  framing: raw")
            lines.append("  headers: {Content-Length: \"0\"}")
        }

        mutating func statusStep(_ bytes: [UInt8], _ parsed: DecodedHead) {
            head = parsed
            var headers: [HeaderField] = []
            var names: Set<String> = []
            for field in parsed.headers {
                // A YAML mapping cannot repeat a key: a repeated name is written in another case, or dropped.
                guard
                    let name = [field.name, field.name.lowercased(), field.name.uppercased()]
                        .first(where: { !names.contains($0) })
                else {
                    notes.append("a repeated header '\(field.name)' could not be written and is left out")
                    continue
                }
                names.insert(name)
                let value = HeaderRedaction.redact(
                    name: field.name, value: field.value, secrets: HeaderRedaction.secretResponseHeaders)
                headers.append(HeaderField(name, value))
            }
            var rendered = ResponseHead(status: parsed.status, headers: headers, framing: .raw, automaticHeaders: false)
            if !parsed.reason.isEmpty && parsed.reason != HTTPWire.reasonPhrase(for: parsed.status) {
                rendered.reason = parsed.reason
            }
            if HTTPWire.headBytes(rendered, bodyLength: 0) != bytes {
                let redacted = parsed.headers.contains {
                    HeaderRedaction.secretResponseHeaders.contains($0.name.lowercased())
                }
                let exact =
                    redacted
                    ? "the exact head is not shown, because it holds secrets"
                    : "the upstream's exact head was: " + Data(bytes).base64EncodedString()
                notes.append(
                    "a status step cannot say this head exactly, so it is normalized (HTTP/1.1, one space after "
                        + "each colon, standard reason, redacted cookies); " + exact)
            }
            lines.append("- status: \(parsed.status)")
            if let reason = rendered.reason { lines.append("  reason: " + YAMLText.doubleQuoted(reason)) }
            lines.append("  framing: raw")
            if headers.isEmpty {
                lines.append("  headers: {}")
            } else {
                lines.append("  headers:")
                for field in headers {
                    lines.append("    \(Self.key(field.name)): " + YAMLText.doubleQuoted(field.value))
                }
            }
        }

        /// A header name as a YAML key: plain when it is letters, digits and dashes, else quoted.
        static func key(_ name: String) -> String {
            let plain =
                name.first?.isLetter == true
                && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            return plain ? name : YAMLText.doubleQuoted(name)
        }
    }
}
