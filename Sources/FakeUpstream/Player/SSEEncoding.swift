extension SSEEvent {
    /// The event as it goes on the wire: `: comment`, `event:`, `id:`, `retry:`, `data:` lines in that order, each
    /// ended by `lineEnding`, then the blank line.
    ///
    /// Data (and a comment) is split at every line break (`\r\n`, `\r` or `\n`) into one line each, so the result is
    /// always a well-formed event whatever bytes the script holds. Public so that the scenario parser can turn a
    /// `split: {event: …}` into bytes exactly as the player would.
    public var wireBytes: [UInt8] {
        let end = Array(lineEnding.rawValue.utf8)
        var out: [UInt8] = []
        func line(_ prefix: String, _ value: some Collection<UInt8>) {
            out += Array(prefix.utf8)
            out += value
            out += end
        }
        if let comment {
            for part in Array(comment.utf8).splitLines() { line(": ", part) }
        }
        if let event { line("event: ", Array(event.utf8)) }
        if let id { line("id: ", Array(id.utf8)) }
        if let retry { line("retry: ", Array(String(retry).utf8)) }
        if let data {
            for part in data.splitLines() { line("data: ", part) }
        }
        out += end
        return out
    }
}

extension [UInt8] {
    /// The lines of these bytes, split at `\r\n`, `\r` or `\n`; no bytes is one empty line.
    func splitLines() -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = startIndex
        var index = startIndex
        while index < endIndex {
            let byte = self[index]
            if byte == 0x0A || byte == 0x0D {
                lines.append(self[start..<index])
                if byte == 0x0D, index + 1 < endIndex, self[index + 1] == 0x0A { index += 1 }
                start = index + 1
            }
            index += 1
        }
        lines.append(self[start..<endIndex])
        return lines
    }
}
