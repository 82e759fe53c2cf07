import Foundation
import NIOConcurrencyHelpers

/// Numbers and writes the recorder's files, off the event loops.
///
/// Numbers continue after the highest `NNNN-` file already in the directory, so a second session never overwrites
/// the first's files; the lock only guards the counter.
final class RecordingSink: Sendable {
    private let directory: String
    private let onRecorded: (@Sendable (RecordedFile) -> Void)?
    private let next: NIOLockedValueBox<Int?> = NIOLockedValueBox(nil)
    /// Exchanges begun but not yet written, and who waits for that count to reach zero.
    private let pending = NIOLockedValueBox<(count: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    init(directory: String, onRecorded: (@Sendable (RecordedFile) -> Void)?) {
        self.directory = directory
        self.onRecorded = onRecorded
    }

    /// Creates the directory; the error says which directory and why.
    func prepare() throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RecorderError(
                message: "cannot create the output directory '\(directory)': \(error.localizedDescription)",
                underlying: error)
        }
    }

    /// Counts an exchange that will be handed to `record` later, so `drain` waits for its file.
    func begin() {
        pending.withLockedValue { $0.count += 1 }
    }

    /// Returns once every begun exchange has been written.
    func drain() async {
        await withCheckedContinuation { continuation in
            let done = pending.withLockedValue { pending -> Bool in
                if pending.count == 0 { return true }
                pending.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Writes `exchange` (begun with `begin`) in the background and reports the file.
    func record(_ exchange: RecordedExchange) {
        Task.detached { [self] in
            defer {
                let waiters = pending.withLockedValue { pending -> [CheckedContinuation<Void, Never>] in
                    pending.count -= 1
                    guard pending.count == 0 else { return [] }
                    defer { pending.waiters = [] }
                    return pending.waiters
                }
                for waiter in waiters { waiter.resume() }
            }
            let number = allocateNumber()
            let path = (directory as NSString).appendingPathComponent(
                RecordingWriter.fileName(for: exchange, number: number))
            var failure: String?
            do {
                try Data(RecordingWriter.yaml(for: exchange).utf8).write(
                    to: URL(fileURLWithPath: path), options: .withoutOverwriting)
            } catch {
                failure = "cannot write '\(path)': \(error.localizedDescription)"
            }
            onRecorded?(RecordedFile(path: path, exchange: exchange, failure: failure))
        }
    }

    private func allocateNumber() -> Int {
        next.withLockedValue { next in
            let number = next ?? (highestExisting() + 1)
            next = number + 1
            return number
        }
    }

    private func highestExisting() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { Int($0.prefix { $0.isNumber }) }.max() ?? 0
    }
}
