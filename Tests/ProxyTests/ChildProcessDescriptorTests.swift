import Foundation
import Testing

@testable import Proxy

/// A started child's pipes are closed once it has ended, however it ended and whatever ran beside it: the soak
/// found two pipes left open in the proxy after every model had stopped (`fds grew from 22 to 24 (new: pipe;
/// pipe)`) under ThreadSanitizer. Children launched concurrently, some killed at once, some exiting by themselves,
/// must leave this process with the pipes it had before. (The soak's two pipes turned out to be ThreadSanitizer's
/// `llvm-symbolizer`, see `OpenDescriptors.sanitizerHelpers` in the harness; this test stays as the proof that the
/// proxy's own children leave none.)
@Suite(.serialized) struct ChildProcessDescriptorTests {
    /// The pipes this process holds now.
    static func pipes() -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"))?.hasPrefix("pipe:") == true
        }.count
    }

    @Test func concurrentLaunchesAndKillsLeaveNoPipeOpen() async throws {
        let before = Self.pipes()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<24 {
                group.addTask {
                    let child = try await ChildProcess.launch(
                        argv: ["/bin/sh", "-c", index % 3 == 0 ? "exit 0" : "echo out; echo err >&2; sleep 5"],
                        environment: [:], onLine: { _, _ in }, onExit: { _ in })
                    if index % 3 != 0 {
                        if index % 2 == 0 { child.signalGroup(SIGKILL) } else { _ = await child.terminate(grace: .seconds(1)) }
                    }
                    _ = await child.waitForExit()
                }
            }
            try await group.waitForAll()
        }
        // Every child has been reaped; its pipes are closed by then or very soon after (bounded wait).
        let deadline = ContinuousClock.now + .seconds(5)
        var after = Self.pipes()
        while after > before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            after = Self.pipes()
        }
        #expect(after <= before, "pipes before \(before), after \(after)")
    }
}
