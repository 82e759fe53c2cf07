import LocatedYAML
import Wire

extension ScenarioParser.Keys {
    /// The top-level keys that make a scenario an executable spec (read by `harness replay`, ignored by the fake).
    public static let specTop = ["proxy", "request", "profile", "expect", "openGates", "runs"]
    /// `proxy:`.
    public static let proxy = [
        "heartbeatInterval", "heartbeatComment", "sendLoadingState", "responseHeaderTimeout", "streamIdleTimeout",
        "healthCheckTimeout",
    ]
    /// One entry of `runs:`.
    public static let run = ["name", "proxy", "request", "profile", "openGates", "expect"]
    /// `request:`.
    public static let request = ["method", "path", "headers", "body"]
    /// `profile:` written as a mapping (a custom profile).
    public static let customProfile = ["headers", "idle", "total", "retries"]
    /// The names `profile:` accepts; the harness's profile catalog has exactly these (a test keeps them in step).
    public static let profileNames = ["undici", "openai-python", "openai-node", "nginx", "cloudflare"]
    /// `expect:`.
    public static let expect = [
        "client", "at", "tolerance", "status", "gaps", "heartbeats", "bodyMatchesUpstream", "inBandError",
        "upstreamSawCloseWithin", "attempts", "heartbeatsInsideEvents", "upstreamRequests",
        "upstreamRequestsBeforeHealthy",
    ]
    /// `expect.gaps:`.
    public static let gaps = ["max", "min", "tolerance"]
    /// `expect.heartbeats:` written as a mapping.
    public static let count = ["min", "max"]
}

extension ScenarioParser {
    static let outcomes: KeyValuePairs<String, ClientOutcomeKind> = [
        "completes": .completes, "times-out": .timesOut, "fails": .fails,
    ]
}

extension YAMLReader {
    /// The spec sections of the top-level mapping, or `nil` when the file has none.
    func spec(_ top: Fields) throws(LocatedError) -> ScenarioSpec? {
        guard top.entries.contains(where: { ScenarioParser.Keys.specTop.contains($0.key) }) else { return nil }
        var spec = ScenarioSpec()
        if let node = top["proxy"] { spec.proxy = try proxySettings(node) }
        if let node = top["request"] { spec.request = try clientRequest(node) }
        if let node = top["profile"] { spec.profile = try profile(node) }
        if let node = top["expect"] { spec.expect = try expectations(node) }
        if let node = top["openGates"] { spec.openGates = try gateOpenings(node) }
        if let node = top["runs"] {
            var names: Set<String> = []
            for item in try nonEmptyList(node, "runs", of: "runs (mappings with name and expect)") {
                let run = try specRun(item)
                guard names.insert(run.name).inserted else {
                    throw error("runs: the name '\(run.name)' is used twice; each run needs its own", at: item)
                }
                spec.runs.append(run)
            }
        }
        return spec
    }

    /// One entry of `runs:`: `name` and `expect` required, the other sections optional (inherited).
    func specRun(_ node: YAMLNode) throws(LocatedError) -> SpecRun {
        let fields = try fields(node, "run", allowed: ScenarioParser.Keys.run)
        guard let nameNode = fields["name"] else {
            throw error("run: missing key 'name' (shown after the file's name in verdicts)", at: node)
        }
        var run = SpecRun(name: try oneLine(nameNode, "name"), location: location(of: node))
        guard let expectNode = fields["expect"] else {
            throw error("run '\(run.name)': missing key 'expect'; every run says what it must show", at: node)
        }
        if let node = fields["proxy"] { run.proxy = try proxySettings(node) }
        if let node = fields["request"] { run.request = try clientRequest(node) }
        if let node = fields["profile"] { run.profile = try profile(node) }
        if let node = fields["openGates"] { run.openGates = try gateOpenings(node) }
        run.expect = try expectations(expectNode)
        return run
    }

    /// `openGates: {prefill: 95s, resume: 140s}`: gate names and when to open them, in order.
    func gateOpenings(_ node: YAMLNode) throws(LocatedError) -> [GateOpening] {
        guard let mapping = node.mapping else {
            throw mismatch("openGates", expected: "a mapping of gate names to durations, e.g. {prefill: 95s}", got: node)
        }
        var openings: [GateOpening] = []
        for entry in mapping {
            // A gate listed twice is a duplicate key, which reading the YAML already refuses.
            let name = try oneLine(entry.key, "openGates")
            openings.append(GateOpening(name: name, after: try duration(entry.value, name)))
        }
        return openings
    }

    func proxySettings(_ node: YAMLNode) throws(LocatedError) -> ProxySettingsSpec {
        let fields = try fields(node, "proxy", allowed: ScenarioParser.Keys.proxy)
        var settings = ProxySettingsSpec()
        if let node = fields["heartbeatInterval"] { settings.heartbeatInterval = try duration(node, "heartbeatInterval") }
        if let node = fields["heartbeatComment"] {
            settings.heartbeatComment = try oneLine(node, "heartbeatComment", allowEmpty: true)
        }
        if let node = fields["sendLoadingState"] { settings.sendLoadingState = try bool(node, "sendLoadingState") }
        if let node = fields["responseHeaderTimeout"] {
            settings.responseHeaderTimeout = try duration(node, "responseHeaderTimeout")
        }
        if let node = fields["streamIdleTimeout"] {
            settings.streamIdleTimeout = try duration(node, "streamIdleTimeout")
        }
        if let node = fields["healthCheckTimeout"] {
            settings.healthCheckTimeout = try positiveDuration(node, "healthCheckTimeout")
        }
        return settings
    }

    func clientRequest(_ node: YAMLNode) throws(LocatedError) -> ClientRequestSpec {
        let fields = try fields(node, "request", allowed: ScenarioParser.Keys.request)
        var request = ClientRequestSpec()
        if let node = fields["method"] {
            let method = try oneLine(node, "method")
            guard method.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-" || $0 == "_") }) else {
                throw mismatch("method", expected: "an HTTP method such as POST", got: node)
            }
            request.method = method
        }
        if let node = fields["path"] {
            let path = try oneLine(node, "path")
            guard path.hasPrefix("/"), !path.contains(" ") else {
                throw mismatch("path", expected: "a target starting with '/' and without spaces", got: node)
            }
            request.path = path
        }
        if let node = fields["headers"] { request.headers = try headers(node) }
        if let node = fields["body"] {
            switch node.content {
            case .mapping, .sequence: request.body = Array(try json(node).utf8)
            default: request.body = try bytes(node, "body")
            }
        }
        return request
    }

    func profile(_ node: YAMLNode) throws(LocatedError) -> ProfileChoice {
        let names = ScenarioParser.Keys.profileNames
        if let scalar = node.scalar {
            guard names.contains(scalar.text) else {
                var message = "profile: expected one of \(names.joined(separator: ", ")) or a mapping with "
                    + "\(ScenarioParser.Keys.customProfile.joined(separator: ", ")), got \(describe(node))"
                if let suggestion = KeySuggestion.closest(to: scalar.text, in: names) {
                    message += "; did you mean '\(suggestion)'?"
                }
                throw error(message, at: node)
            }
            return .named(scalar.text)
        }
        let fields = try fields(node, "profile", allowed: ScenarioParser.Keys.customProfile)
        var custom = CustomProfileSpec()
        if let node = fields["headers"] { custom.headers = try positiveDuration(node, "headers") }
        if let node = fields["idle"] { custom.idle = try positiveDuration(node, "idle") }
        if let node = fields["total"] { custom.total = try positiveDuration(node, "total") }
        if let node = fields["retries"] {
            custom.retries = try integer(node, "retries", in: 0...100, expected: "a whole number from 0 to 100")
        }
        return .custom(custom)
    }

    func expectations(_ node: YAMLNode) throws(LocatedError) -> Expectations {
        let fields = try fields(node, "expect", allowed: ScenarioParser.Keys.expect)
        var expect = Expectations(location: location(of: node))
        if let node = fields["client"] { expect.client = try choice(node, "client", ScenarioParser.outcomes) }
        if let entry = fields.entry("at") {
            guard expect.client != nil else {
                throw error("at: needs 'client' (completes, times-out or fails) to say what happens then",
                    at: entry.keyNode)
            }
            expect.at = try duration(entry.value, "at")
        }
        if let entry = fields.entry("tolerance") {
            guard expect.at != nil else { throw error("tolerance: goes with 'at'", at: entry.keyNode) }
            expect.tolerance = try duration(entry.value, "tolerance")
        }
        if let node = fields["status"] { expect.status = try status(node, "status") }
        if let node = fields["gaps"] { expect.gaps = try gaps(node) }
        if let node = fields["heartbeats"] { expect.heartbeats = try count(node, "heartbeats") }
        if let node = fields["bodyMatchesUpstream"] {
            expect.bodyMatchesUpstream = try bool(node, "bodyMatchesUpstream")
        }
        if let node = fields["inBandError"] { expect.inBandError = try bool(node, "inBandError") }
        if let node = fields["upstreamSawCloseWithin"] {
            expect.upstreamSawCloseWithin = try duration(node, "upstreamSawCloseWithin")
        }
        if let node = fields["attempts"] {
            expect.attempts = try integer(node, "attempts", in: 1...101, expected: "a whole number from 1 to 101")
        }
        if let node = fields["heartbeatsInsideEvents"] {
            expect.heartbeatsInsideEvents = try count(node, "heartbeatsInsideEvents")
        }
        if let node = fields["upstreamRequests"] { expect.upstreamRequests = try count(node, "upstreamRequests") }
        if let node = fields["upstreamRequestsBeforeHealthy"] {
            expect.upstreamRequestsBeforeHealthy = try count(node, "upstreamRequestsBeforeHealthy")
        }
        return expect
    }

    func gaps(_ node: YAMLNode) throws(LocatedError) -> GapExpectation {
        let fields = try fields(node, "gaps", allowed: ScenarioParser.Keys.gaps)
        var gaps = GapExpectation()
        if let node = fields["max"] { gaps.max = try duration(node, "max") }
        if let node = fields["min"] { gaps.min = try duration(node, "min") }
        if let node = fields["tolerance"] { gaps.tolerance = try duration(node, "tolerance") }
        if let max = gaps.max, let min = gaps.min, min > max {
            throw error("gaps: 'min' is larger than 'max'", at: node)
        }
        return gaps
    }

    /// `3` (exactly three) or `{min: 1, max: 5}`.
    func count(_ node: YAMLNode, _ key: String) throws(LocatedError) -> CountExpectation {
        let expected = "a whole number >= 0"
        if node.scalar != nil {
            let exact = try integer(node, key, in: 0...Int.max, expected: expected)
            return CountExpectation(min: exact, max: exact)
        }
        let fields = try fields(node, key, allowed: ScenarioParser.Keys.count)
        var range = CountExpectation()
        if let node = fields["min"] { range.min = try integer(node, "min", in: 0...Int.max, expected: expected) }
        if let node = fields["max"] { range.max = try integer(node, "max", in: 0...Int.max, expected: expected) }
        if let min = range.min, let max = range.max, min > max {
            throw error("\(key): 'min' is larger than 'max'", at: node)
        }
        return range
    }

    func positiveDuration(_ node: YAMLNode, _ key: String) throws(LocatedError) -> Duration {
        let value = try duration(node, key)
        guard value > .zero else { throw mismatch(key, expected: "a duration > 0", got: node) }
        return value
    }

    /// A YAML mapping or list as compact JSON, key order kept. Plain scalars that read as JSON literals (`true`,
    /// `false`, `null`, decimal numbers) stay literals; everything else, and every quoted scalar, is a string.
    func json(_ node: YAMLNode) throws(LocatedError) -> String {
        switch node.content {
        case .mapping(let mapping):
            var parts: [String] = []
            for entry in mapping {
                guard let key = entry.key.scalar else {
                    throw error("body: expected a key name, got \(describe(entry.key))", at: entry.key)
                }
                parts.append(JSONText.quote(key.text) + ":" + (try json(entry.value)))
            }
            return "{" + parts.joined(separator: ",") + "}"
        case .sequence(let sequence):
            var parts: [String] = []
            for item in sequence { parts.append(try json(item)) }
            return "[" + parts.joined(separator: ",") + "]"
        case .scalar(let scalar):
            let text = scalar.text
            if scalar.isPlain && (["true", "false", "null"].contains(text) || ScenarioParser.isJSONNumber(text)) {
                return text
            }
            return JSONText.quote(text)
        case .alias:
            throw error("body: aliases are not supported here", at: node)
        }
    }
}

extension ScenarioParser {
    /// Whether `text` is a JSON number as written (`-1`, `0.5`, `1e3`; not `010`, `.5`, `+1`).
    static func isJSONNumber(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" { rest.removeFirst() }
        let integer = rest.prefix { $0.isASCII && $0.isNumber }
        guard !integer.isEmpty, integer == "0" || integer.first != "0" else { return false }
        rest = rest.dropFirst(integer.count)
        if rest.first == "." {
            rest.removeFirst()
            let fraction = rest.prefix { $0.isASCII && $0.isNumber }
            guard !fraction.isEmpty else { return false }
            rest = rest.dropFirst(fraction.count)
        }
        if rest.first == "e" || rest.first == "E" {
            rest.removeFirst()
            if rest.first == "+" || rest.first == "-" { rest.removeFirst() }
            let exponent = rest.prefix { $0.isASCII && $0.isNumber }
            guard !exponent.isEmpty else { return false }
            rest = rest.dropFirst(exponent.count)
        }
        return rest.isEmpty
    }
}
