/// Cuts a child's output bytes into lines for the log: `\n`, `\r\n` and a lone `\r` (progress bars) end a line, and
/// a line longer than `maxLineLength` bytes is cut there, so one runaway line cannot hold unbounded memory.
struct LineSplitter: Sendable {
    let maxLineLength: Int
    private var pending: [UInt8] = []
    private var lastWasCarriageReturn = false

    init(maxLineLength: Int = 4096) {
        self.maxLineLength = max(1, maxLineLength)
    }

    /// The lines completed by `bytes`, in order; the rest waits for more bytes or `finish()`.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastWasCarriageReturn {
                lastWasCarriageReturn = false
                continue
            }
            lastWasCarriageReturn = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                lines.append(takePending())
                continue
            }
            pending.append(byte)
            if pending.count >= maxLineLength { lines.append(takePending()) }
        }
        return lines
    }

    /// The unfinished last line, if any (at end of output).
    mutating func finish() -> String? {
        lastWasCarriageReturn = false
        return pending.isEmpty ? nil : takePending()
    }

    private mutating func takePending() -> String {
        defer { pending.removeAll(keepingCapacity: true) }
        return String(decoding: pending, as: UTF8.self)
    }
}
