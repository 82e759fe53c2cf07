import Foundation
import Testing

@testable import Proxy

/// A started child's pipes are closed once it has ended, however it ended and whatever ran beside it: the soak
/// found two pipes left open in the proxy after every model had stopped (`fds grew from 22 to 24 (new: pipe;
/// pipe)`) under ThreadSanitizer. (They turned out to be ThreadSanitizer's `llvm-symbolizer`, see
/// `OpenDescriptors.sanitizerHelpers` in the harness; this test stays as the proof that the proxy's own children
/// leave none.) Children launched concurrently, some killed at once, some stopped with a grace, must leave none of
/// their output pipes open in this process. Only the children's own pipes are looked for (by inode), so suites
/// running beside this one, with children of their own, cannot move the result.
@Suite struct ChildProcessDescriptorTests {
    /// The pipe targets (`pipe:[inode]`) of `pid`'s descriptors.
    static func pipes(of pid: String) -> Set<String> {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return Set(fds.compactMap { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"))
                .flatMap { $0.hasPrefix("pipe:") ? $0 : nil }
        })
    }

    @Test func concurrentLaunchesAndKillsLeaveNoPipeOpen() async throws {
        let childPipes = try await withThrowingTaskGroup(of: Set<String>.self) { group in
            for index in 0..<24 {
                group.addTask {
                    let child = try await ChildProcess.launch(
                        argv: ["/bin/sh", "-c", "echo out; echo err >&2; sleep 5"],
                        environment: [:], onLine: { _, _ in }, onExit: { _ in })
                    // The child's stdout and stderr (both pipes to this process) while it runs.
                    let own = Self.pipes(of: "\(child.pid)")
                    if index % 2 == 0 { child.signalGroup(SIGKILL) } else { _ = await child.terminate(grace: .seconds(1)) }
                    _ = await child.waitForExit()
                    return own
                }
            }
            var all: Set<String> = []
            for try await own in group { all.formUnion(own) }
            return all
        }
        #expect(childPipes.count >= 24, "each child had its output pipes: \(childPipes.count)")
        // Every child has been reaped; its pipes are closed by then or very soon after (bounded wait).
        let deadline = ContinuousClock.now + .seconds(5)
        var left = Self.pipes(of: "self").intersection(childPipes)
        while !left.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            left = Self.pipes(of: "self").intersection(childPipes)
        }
        #expect(left.isEmpty, "children's pipes still open here: \(left.sorted())")
    }
}
