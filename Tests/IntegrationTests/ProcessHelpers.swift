import Foundation
import NIOConcurrencyHelpers
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Ports for child processes and configs come from one counter per test process, below Linux's ephemeral range
/// (32768–60999), each checked free before it is handed out. The kernel's pick for port 0 is an ephemeral port that it
/// may hand again, moments later, to another test's outgoing connection or `bind(0)` running in parallel; a model
/// whose port another test's server took then passes its health check on *that* server (seen as a missing
/// "listening" line from the model's own child in a parallel run).
private let nextTestPort = NIOLockedValueBox(20_000 + Int(getpid() % 40) * 300)

/// Takes `count` consecutive ports from the counter (wrapping within 20000..<32000).
private func takePorts(_ count: Int) -> Int {
    nextTestPort.withLockedValue { next in
        if next + count >= 32_000 { next = 20_000 }
        defer { next += count }
        return next
    }
}

/// A port nothing listens on right now, not handed out before by this process.
func freePort() throws -> Int {
    try freePortRange(1)
}

/// `count` consecutive free ports (for a config's `startPort`), none of them in `avoiding`.
func freePortRange(_ count: Int, avoiding: Set<Int> = []) throws -> Int {
    for _ in 0..<200 {
        let first = takePorts(count)
        let range = first..<first + count
        if range.allSatisfy({ !avoiding.contains($0) && (try? bindable(port: $0)) != nil }) { return first }
    }
    throw POSIXError(.EADDRINUSE)
}

/// Binds `port` (0: any) on loopback for a moment and returns the port bound.
private func bindable(port: Int) throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether a process with this pid exists (a zombie counts until reaped; the supervisor reaps its children).
func isAlive(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno != ESRCH
}

/// Whether the process has ended: gone, or a zombie nobody reaped yet (an orphan's reaper may be slow or absent).
func isGone(_ pid: Int32) -> Bool {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return true }
    let stat = String(decoding: data, as: UTF8.self)
    guard let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

