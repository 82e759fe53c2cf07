import DurationMath
import LocatedYAML
import Testing

@Suite struct DurationParserTests {
    @Test(arguments: [
        ("95", 95.0), ("0.5", 0.5), ("500ms", 0.5), ("10s", 10), ("2m", 120), ("1m30s", 90), ("1h", 3600),
        ("250us", 0.00025), (" 3s ", 3),
    ])
    func parsesTextDurations(text: String, seconds: Double) throws {
        let parsed = try DurationParser.duration(text)
        #expect(abs(parsed.seconds - seconds) < 1e-9)
    }

    @Test(arguments: ["", "-1", "-5s", "10x", "s", "1.2.3s", "ms10", "1e300", "99999999999h", "inf", "nan"])
    func refusesBadDurations(text: String) {
        #expect(throws: DurationParser.Failure.self) { try DurationParser.duration(text) }
    }

    @Test(arguments: [
        ("soon", DurationParser.Failure.notADuration), ("-5s", .negative), ("10x", .unknownUnit("x")),
        ("2h", .tooLong(maximumSeconds: 3600)), ("1e300", .tooLong(maximumSeconds: 3600)), ("nan", .notADuration),
    ])
    func saysWhyATextIsNotADuration(text: String, failure: DurationParser.Failure) {
        #expect(throws: failure) { try DurationParser.duration(text, atMost: 3600) }
    }

    @Test func scalingSaturatesInsteadOfTrapping() {
        #expect(Duration.seconds(1_000_000_000).scaled(by: 1e12) == .nanoseconds(Int64.max))
    }

    @Test func scalingMultipliesNanoseconds() {
        #expect(Duration.seconds(95).scaled(by: 0.01) == .milliseconds(950))
    }
}
