import FakeUpstream
import RawHTTP

/// Facts read from the fake's journal that no client can see: whether the proxy forwarded before the upstream was
/// healthy, and whether a response was left blocked at a gate. Pure, over journal values.
public enum JournalFacts {
    /// How many of `requests` arrived before the first `/health` request that the fake answered with 200 (all of
    /// them if it never did): a proxy must not forward to a model that is still loading.
    public static func requestsBeforeHealthy(
        _ requests: [RequestRecord], journal: JournalSnapshot, healthPath: String
    ) -> Int {
        let healthy = journal.requests
            .filter { $0.path == healthPath && status(of: $0) == 200 }
            .map(\.arrival).min()
        return requests.filter { request in healthy.map { request.arrival < $0 } ?? true }.count
    }

    /// The status line the fake wrote for `request`, if it wrote one.
    public static func status(of request: RequestRecord) -> Int? {
        let decoder = ResponseDecoder(requestMethod: request.method)
        for write in request.writes {
            decoder.feed(write.bytes.bytes)
            if let head = decoder.head { return head.status }
        }
        return nil
    }

    /// The first gate that a still-unfinished response among `requests` has not passed and that nobody opened
    /// (`opened` are the gates the runner released), or `nil`. The gates come from the rule that answered (by
    /// name), or from every rule when the journal does not name one of the scenario's rules.
    public static func blockedGate(requests: [RequestRecord], scenario: Scenario, opened: Set<String>) -> String? {
        for request in requests where request.end == nil {
            let rules = scenario.rules.filter { $0.name != nil && $0.name == request.rule }
            let gates = (rules.isEmpty ? scenario.rules : rules).flatMap(\.responses).flatMap(\.steps).compactMap {
                step -> String? in
                if case .gate(let name) = step { return name }
                return nil
            }
            let passed = Set(request.gates.map(\.name))
            if let gate = gates.first(where: { !passed.contains($0) && !opened.contains($0) }) { return gate }
        }
        return nil
    }
}
