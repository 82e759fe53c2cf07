import FakeUpstream
import Logging
import RawHTTP
import NIOCore
import NIOPosix

// Measures how punctually the fake upstream's executor plays timed plans: every connection gets a plan of
// `writes` writes `gap` apart; lateness is measured at the client (arrival vs request send + offset) and at the
// server (journal: actual write time vs scheduled deadline). Loopback only, bounded in time.

let writes = 20
let gap = Duration.milliseconds(50)
let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64)
let head = Array("HTTP/1.1 200 OK\r\nContent-Length: \(writes * chunk.count)\r\n\r\n".utf8)

/// Plans `writes` writes of `chunk`, `gap` apart, the first carrying the head; then closes.
struct EvenlySpacedResponder: Responder {
    func respond(to request: RequestContext, uptime: Duration) -> ResponderDecision {
        var actions = (0..<writes).map { i in
            TimedAction(at: gap * i, .write(i == 0 ? head + chunk : chunk))
        }
        actions.append(TimedAction(at: gap * (writes - 1), .end(.close)))
        return ResponderDecision(plan: ResponsePlan(actions: actions), scenario: "bench", rule: "evenly-spaced")
    }
}

/// Cumulative byte count at which write `i` is complete at the client.
let writeEnds = (0..<writes).map { i in head.count + (i + 1) * chunk.count }

func percentiles(_ values: [Double]) -> String {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return "no samples" }
    func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
    return String(
        format: "p50 %.3f ms  p99 %.3f ms  max %.3f ms  (n=%d)", at(0.50), at(0.99), sorted.last!, sorted.count)
}

func round(connections: Int) async throws {
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let server = FakeUpstreamServer(responder: EvenlySpacedResponder(), logger: logger)
    let port = try await server.start()
    let group = MultiThreadedEventLoopGroup.singleton

    typealias Trace = (sentAt: NIODeadline, received: RawTCPClient.Received)
    let traces = try await withThrowingTaskGroup(of: (Int, Trace).self) { tasks in
        for n in 0..<connections {
            let request = Array("GET /bench/\(n) HTTP/1.1\r\nHost: bench\r\n\r\n".utf8)
            tasks.addTask { (n, try await RawTCPClient.exchange(port: port, group: group, request: request)) }
        }
        return try await tasks.reduce(into: [Int: Trace]()) { $0[$1.0] = $1.1 }
    }
    let journal = server.journal.snapshot
    let origin = server.journal.origin
    try await server.stop()

    // When each connection's request fully arrived at the server, on the same monotonic clock as the client.
    var arrivals: [Int: NIODeadline] = [:]
    for request in journal.requests {
        guard let n = Int(request.path.split(separator: "/").last ?? "") else { continue }
        arrivals[n] = origin + .nanoseconds(request.arrival)
    }

    var endToEnd: [Double] = []
    var fromArrival: [Double] = []
    var arrivalLag: [Double] = []
    var incomplete = 0
    for (n, trace) in traces {
        guard let arrival = arrivals[n] else {
            incomplete += 1
            continue
        }
        arrivalLag.append(milliseconds(arrival - trace.sentAt))
        var received = 0
        var next = 0
        for read in trace.received.reads {
            received += read.bytes.count
            while next < writes, received >= writeEnds[next] {
                let offset = TimeAmount.nanoseconds((gap * next).nanosecondsValue)
                endToEnd.append(milliseconds(read.at - (trace.sentAt + offset)))
                fromArrival.append(milliseconds(read.at - (arrival + offset)))
                next += 1
            }
        }
        if next < writes { incomplete += 1 }
    }
    let serverLateness = journal.requests.flatMap(\.writes).map { Double($0.offset - $0.scheduled) / 1e6 }

    print("\(connections) connection(s) × \(writes) writes, \(gap) apart:")
    print("  server-side lateness (journal: write time − deadline):  \(percentiles(serverLateness))")
    print("  client-observed lateness vs server arrival + offset:    \(percentiles(fromArrival))")
    print("  client-observed lateness vs client send + offset:       \(percentiles(endToEnd))")
    print("  request arrival lag (client send → server arrival):      \(percentiles(arrivalLag))")
    if incomplete > 0 { print("  incomplete responses: \(incomplete)") }
}

func milliseconds(_ amount: TimeAmount) -> Double { Double(amount.nanoseconds) / 1e6 }

extension Duration {
    var nanosecondsValue: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

for connections in [1, 500] {
    try await round(connections: connections)
}
