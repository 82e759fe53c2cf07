import Foundation

/// What a process's open descriptors are, one phrase each, read from `/proc/PID/fd` and `/proc/PID/net/tcp{,6}`:
/// `tcp 127.0.0.1:8080 ↔ 127.0.0.1:43210 CLOSE_WAIT`, `pipe`, `anon_inode:[eventfd]`, `/dev/null`.
///
/// Why: "fds grew from 22 to 24" says a soak is not flat but not why. Whether the two are a client connection
/// the proxy never closed (and in which TCP state), an upstream connection, or a child's pipes is what tells a
/// leak from a count taken too early.
public enum OpenDescriptors {
    /// The descriptions of `fds` (names in `/proc/PID/fd`) of `pid`, sorted.
    public static func describe(pid: Int32, fds: [String]) -> [String] {
        let sockets = tcpSockets(pid: pid)
        var out: [String] = []
        for fd in fds {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")
            else { continue }  // closed while we looked
            out.append(describe(target: target, tcp: sockets))
        }
        return out.sorted()
    }

    /// One descriptor: a TCP socket by its endpoints and state when `/proc/net/tcp` knows its inode; pipes and
    /// other sockets by kind only (their inodes differ from run to run and say nothing).
    static func describe(target: String, tcp: [String: String]) -> String {
        if target.hasPrefix("socket:[") {
            let inode = String(target.dropFirst("socket:[".count).dropLast())
            return tcp[inode] ?? "socket (not TCP)"
        }
        if target.hasPrefix("pipe:[") { return "pipe" }
        return target
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
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/net/\(file)", encoding: .utf8) else { continue }
            for (inode, description) in parseTCPTable(text) { map[inode] = description }
        }
        return map
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
