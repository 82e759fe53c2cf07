import SeededRandom

/// Random and mutated request bytes for the front-door fuzz test, from a seed: well-formed requests of every kind
/// the proxy sees (and some it refuses), mutated by flips, insertions, deletions, duplications and cuts, or plain
/// noise; then split into pieces with gaps between them, some longer than the client timeouts.
struct FrontDoorInputs {
    /// One piece of the input: wait `gap`, then send `bytes`.
    struct Piece {
        var gap: Duration
        var bytes: [UInt8]
    }

    var random: SplitMix64

    static let chat = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
    static let templates: [String] = [
        "GET /health HTTP/1.1\r\nHost: p\r\n\r\n",
        "GET /v1/models HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
        "HEAD /health HTTP/1.1\r\nHost: p\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\nContent-Length: \(chat.utf8.count)\r\n\r\n\(chat)",
        "POST /v1/completions HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"model\":\"m\",\"p\"\r\n7\r\n:\"x\"}  \r\n0\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n{",
        "POST /v1/embeddings HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        "TRACE / HTTP/1.1\r\nHost: p\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: p\r\n\r\n",
        "GET /health HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "GET /health HTTP/1.0\r\n\r\n",
        "GET /running HTTP/1.1\r\n\r\nGET /logs HTTP/1.1\r\n\r\nPOST /unload HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "GET /upstream/m/props?x=1 HTTP/1.1\r\nHost: p\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
        "GET /health HTTP/1.1\r\n" + String(repeating: "X-Many: 1\r\n", count: 40) + "\r\n",
        "GET /" + String(repeating: "a", count: 700) + " HTTP/1.1\r\n\r\n",
        "GET /health HTTP/2.0\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "\r\n\r\nGET /health HTTP/1.1\r\n\r\n",
    ]

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// One connection's input.
    mutating func next() -> [Piece] {
        var bytes: [UInt8]
        if random.nextIndex(below: 10) == 0 {
            bytes = (0..<random.nextIndex(below: 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        } else {
            bytes = Array(Self.templates[random.nextIndex(below: Self.templates.count)].utf8)
            if random.nextIndex(below: 4) == 0 {
                bytes += Self.templates[random.nextIndex(below: Self.templates.count)].utf8  // pipelined
            }
            for _ in 0..<random.nextIndex(below: 4) { mutate(&bytes) }
        }
        return split(bytes)
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        let at = random.nextIndex(below: bytes.count)
        switch random.nextIndex(below: 7) {
        case 0: bytes[at] ^= UInt8(1 << random.nextIndex(below: 8))
        case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
        case 2: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.nextIndex(below: 8)))
        case 3:
            let end = min(bytes.count, at + 1 + random.nextIndex(below: 40))
            bytes.insert(contentsOf: bytes[at..<end], at: at)
        case 4: bytes.removeSubrange(at...)
        case 5: bytes.insert(contentsOf: [[13, 10], [58], [32], [0], [13], [10]][random.nextIndex(below: 6)], at: at)
        default: bytes[at] = [13, 10, 58, 32, 0, 255, 0x7F][random.nextIndex(below: 7)]
        }
    }

    private mutating func split(_ bytes: [UInt8]) -> [Piece] {
        var cuts = (0..<random.nextIndex(below: 6)).map { _ in random.nextIndex(below: bytes.count + 1) }
        cuts = Array(Set(cuts + [0, bytes.count])).sorted()
        var pieces: [Piece] = []
        for (start, end) in zip(cuts, cuts.dropFirst()) where end > start {
            pieces.append(Piece(gap: gap(), bytes: Array(bytes[start..<end])))
        }
        return pieces
    }

    /// Mostly back to back, sometimes a pause, now and then one longer than a client timeout.
    private mutating func gap() -> Duration {
        switch random.nextIndex(below: 10) {
        case 0..<5: .zero
        case 5..<8: .milliseconds(random.nextIndex(below: 3000))
        default: .milliseconds(random.nextIndex(below: 25_000))
        }
    }
}
