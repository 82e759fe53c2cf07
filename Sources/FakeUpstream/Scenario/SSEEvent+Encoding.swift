extension SSEEvent {
    /// The event exactly as it goes on the wire: `: comment`, `event:`, `id:`, `retry:`, one `data:` line per
    /// `\n`-separated piece of `data`, each ended by `lineEnding`, then the blank line.
    ///
    /// One encoder for the parser (which must know a `split` event's byte count to check its offsets) and the
    /// player (which writes it), so both agree byte for byte.
    public var wireBytes: [UInt8] {
        let ending = Array(lineEnding.rawValue.utf8)
        var out: [UInt8] = []
        func line(_ field: String, _ value: some Sequence<UInt8>) {
            out += field.utf8
            out += value
            out += ending
        }
        if let comment { line(": ", comment.utf8) }
        if let event { line("event: ", event.utf8) }
        if let id { line("id: ", id.utf8) }
        if let retry { line("retry: ", String(retry).utf8) }
        if let data {
            for piece in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                line("data: ", piece)
            }
        }
        out += ending
        return out
    }
}
