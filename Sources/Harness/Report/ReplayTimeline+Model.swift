import Timeline

extension ReplayTimeline {
    /// This run as the one timeline model (`RequestTimeline`), which `TimelineReport` draws: upstream writes and the
    /// upstream's closes, client reads, heartbeats, the client's requests and its give-ups, and the deadline of
    /// `profile` (the run's) pending or fired at the end of each request.
    public func model(profile: String) -> RequestTimeline {
        var events: [RequestTimeline.Event] = []
        var deadlines: [RequestTimeline.Deadline] = []
        for attempt in attempts {
            events.append(
                .init(t: attempt.start, lane: .request, mark: .span, label: attempt.ending,
                    end: attempt.end))
            if let deadline = attempt.deadline, let rule = attempt.deadlineRule {
                deadlines.append(.init(profile: profile, t: deadline, rule: rule, fired: attempt.timedOut))
            }
            if attempt.timedOut {
                events.append(.init(t: attempt.end, lane: .request, mark: .giveUp, label: "gave up"))
            }
        }
        for write in upstreamWrites {
            events.append(
                .init(t: write.at, lane: .upstream, bytes: write.byteCount,
                    label: "upstream writes \(write.byteCount) B  \(write.preview)"))
        }
        for read in clientReads {
            if read.heartbeats > 0 {
                events.append(
                    .init(t: read.at, lane: .heartbeat, bytes: read.byteCount, label: "client  reads \(read.byteCount) B  heartbeat x\(read.heartbeats) \(read.preview)"))
            } else {
                events.append(
                    .init(t: read.at, lane: .client, bytes: read.byteCount,
                        label: "client  reads \(read.byteCount) B  \(read.preview)"))
            }
        }
        for close in upstreamCloses {
            events.append(.init(t: close, lane: .upstream, mark: .close, label: "upstream sees the connection close"))
        }
        return RequestTimeline(events: events, deadlines: deadlines)
    }
}
