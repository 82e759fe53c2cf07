import Foundation

/// What a process's open descriptors are, one phrase each, read from `/proc/PID/fd` and `/proc/PID/net/tcp{,6}`:
/// `tcp 127.0.0.1:8080 ↔ 127.0.0.1:43210 CLOSE_WAIT`, `pipe`, `anon_inode:[eventfd]`, `/dev/null`.
///
/// Why: "fds grew from 22 to 24" says a soak is not flat but not why. Whether the two are a client connection
/// the proxy never closed (and in which TCP state), an upstream connection, or a child's pipes is what tells a
/// leak from a count taken too early. (The first such growth, under ThreadSanitizer, was neither: two pipes to
/// `llvm-symbolizer`, see ``sanitizerHelpers``.)
public enum OpenDescriptors {
    /// Helper processes a sanitizer runtime starts inside the measured process, not the program: ThreadSanitizer
    /// starts `llvm-symbolizer` the first time it symbolizes a stack (to match a suppression in ci/tsan.supp, say,
    /// at a moment no test chooses) and keeps two pipes to it for the rest of the process's life. Pipes shared with
    /// such a child are described as `pipe ↔ llvm-symbolizer (sanitizer)` and are not the program's descriptors.
    public static let sanitizerHelpers: Set<String> = ["llvm-symbolizer", "addr2line"]

    /// The suffix marking a descriptor that belongs to a sanitizer's helper, not to the program.
    public static let sanitizerMark = "(sanitizer)"

    /// The descriptions of `fds` (names in `/proc/PID/fd`) of `pid`, sorted.
    public static func describe(pid: Int32, fds: [String]) -> [String] {
        let sockets = tcpSockets(pid: pid)
        let peers = childPipes(of: pid)
        var out: [String] = []
        for fd in fds {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")
            else { continue }  // closed while we looked
            out.append(describe(target: target, tcp: sockets, pipePeers: peers))
        }
        return out.sorted()
    }

    /// One descriptor: a TCP socket by its endpoints and state when `/proc/net/tcp` knows its inode; a pipe by the
    /// child at its other end when `pipePeers` (pipe target → child's name) knows it, a sanitizer's helper marked
    /// with ``sanitizerMark``; other pipes and sockets by kind only (their inodes differ from run to run).
    static func describe(target: String, tcp: [String: String], pipePeers: [String: String] = [:]) -> String {
        if target.hasPrefix("socket:[") {
            let inode = String(target.dropFirst("socket:[".count).dropLast())
            return tcp[inode] ?? "socket (not TCP)"
        }
        if target.hasPrefix("pipe:[") {
            guard let peer = pipePeers[target] else { return "pipe" }
            return sanitizerHelpers.contains(peer) ? "pipe ↔ \(peer) \(sanitizerMark)" : "pipe ↔ \(peer)"
        }
        return target
    }

    /// Whether a description is a sanitizer helper's descriptor (not counted as the program's).
    public static func isSanitizers(_ description: String) -> Bool { description.hasSuffix(sanitizerMark) }

    /// Pipe target (`pipe:[123]`) → the name of a direct child of `pid` that holds the same pipe.
    static func childPipes(of pid: Int32) -> [String: String] {
        var map: [String: String] = [:]
        for child in children(of: pid) {
            guard let name = processName(child),
                let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(child)/fd")
            else { continue }
            for fd in fds {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/fd/\(fd)"),
                    target.hasPrefix("pipe:[")
                {
                    map[target] = name
                }
            }
        }
        return map
    }

    /// The direct children of `pid`, from each thread's `/proc/PID/task/TID/children`.
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var children: Set<Int32> = []
        for task in tasks {
            guard let text = procText("/proc/\(pid)/task/\(task)/children")
            else { continue }
            for field in text.split(separator: " ") { if let child = Int32(field) { children.insert(child) } }
        }
        return children.sorted()
    }

    /// The executable's base name from `/proc/PID/cmdline` (argv[0]).
    static func processName(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        let argv0 = data.split(separator: 0, maxSplits: 1).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return argv0.split(separator: "/").last.map(String.init)
    }

    /// The descriptions in `end` that `start` does not account for (multiset difference), in `end`'s order.
    public static func added(from start: [String], to end: [String]) -> [String] {
        var left: [String: Int] = [:]
        for item in start { left[item, default: 0] += 1 }
        var added: [String] = []
        for item in end {
            if let count = left[item], count > 0 { left[item] = count - 1 } else { added.append(item) }
        }
        return added
    }

    /// inode → `tcp LOCAL ↔ REMOTE STATE` from the process's view of `/proc/net/tcp` and `tcp6`.
    static func tcpSockets(pid: Int32) -> [String: String] {
        var map: [String: String] = [:]
        for file in ["tcp", "tcp6"] {
            guard let text = procText("/proc/\(pid)/net/\(file)") else { continue }
            for (inode, description) in parseTCPTable(text) { map[inode] = description }
        }
        return map
    }

    /// A `/proc` file's whole text. Not `String(contentsOfFile:)`: procfs files report size 0, and Foundation then
    /// reads one page (27 of 3,046 rows of a busy machine's `/proc/net/tcp`), so a socket further down was unnamed.
    static func procText(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Rows of a `/proc/net/tcp` table: `sl local_address rem_address st ... uid timeout inode`.
    static func parseTCPTable(_ text: String) -> [(String, String)] {
        var rows: [(String, String)] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 10 else { continue }
            let state = tcpStates[String(fields[3])] ?? "state \(fields[3])"
            rows.append((String(fields[9]), "tcp \(address(fields[1])) ↔ \(address(fields[2])) \(state)"))
        }
        return rows
    }

    /// `0100007F:1F90` → `127.0.0.1:8080` (IPv4 in host order, little-endian here); IPv6 shown as its hex.
    static func address(_ field: Substring) -> String {
        let parts = field.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1], radix: 16) else { return String(field) }
        if parts[0].count == 8, let raw = UInt32(parts[0], radix: 16) {
            let bytes = [raw & 0xff, (raw >> 8) & 0xff, (raw >> 16) & 0xff, raw >> 24]
            return bytes.map(String.init).joined(separator: ".") + ":\(port)"
        }
        if parts[0] == "00000000000000000000000000000000" { return "[::]:\(port)" }
        if parts[0] == "00000000000000000000000001000000" { return "[::1]:\(port)" }
        return "[\(parts[0])]:\(port)"
    }

    static let tcpStates: [String: String] = [
        "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
        "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
    ]
}
