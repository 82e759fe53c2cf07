/// At most `permits` bodies at once; the others wait in order. For tests that run many real-time replays
/// concurrently without letting all of them compete for the cores at the same moment.
actor ConcurrencyLimiter {
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(permits: Int) {
        available = permits
    }

    /// Runs `body` once a permit is free, and frees it afterwards.
    func withPermit<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        if available > 0 {
            available -= 1
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
        defer { release() }
        return try await body()
    }

    private func release() {
        if waiting.isEmpty {
            available += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
