import SeededRandom
import Testing
import Timeline

/// The live deadline watch (what the proxy's timeline shows) and the harness's profile evaluator agree on every
/// timeline: one set of timers, `ClientTimeoutClock`, behind both.
@Suite struct TimelineDeadlineTests {
    @Test(arguments: 0..<4) func theWatchAgreesWithTheEvaluator(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for _ in 0..<500 {
            var reads: [AttemptTimeline.Read] = []
            var at = Duration.zero
            var headDone = false
            for _ in 0..<random.below(8) {
                at += .seconds(random.below(400))
                let head = !headDone && random.chance(40)
                headDone = headDone || head
                reads.append(.init(at: at, byteCount: 1, completesHead: head, hasBody: headDone && random.chance(70)))
            }
            let end = at + .seconds(random.below(700))
            let attempt = AttemptTimeline(reads: reads, end: random.chance(50) ? .complete(at: end) : .observedUntil(end))
            let deadlines = ClientDeadlines.of(ClientProfiles.all, on: attempt)
            for profile in ClientProfiles.all {
                let outcome = ProfileEvaluator.evaluateOnce(profile, on: attempt)
                let deadline = deadlines.first { $0.profile == profile.name }
                if case .timedOut(let at, let rule) = outcome, at < end {
                    #expect(deadline?.fired == true && deadline?.t == at && deadline?.rule == rule)
                } else if case .completed = outcome {
                    #expect(deadline?.fired != true)
                }
            }
        }
    }

    /// The labels people read.
    @Test func deadlineLabels() {
        let fired = RequestTimeline.Deadline(profile: "undici", t: .seconds(300), rule: .headers, fired: true)
        #expect(fired.label == "undici gives up (headers) at 300 s")
        let pending = RequestTimeline.Deadline(profile: "nginx", t: .seconds(64), rule: .read, fired: false)
        #expect(pending.label == "next nginx deadline (read) at 64 s, not reached")
    }
}
