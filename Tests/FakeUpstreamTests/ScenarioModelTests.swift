import Testing
import FakeUpstream

@Test func defaultScenarioIsReadyAndLenient() {
    let scenario = Scenario(name: "x", description: "d")
    #expect(scenario.health == .alwaysReady)
    #expect(!scenario.strict)
    #expect(scenario.model == Scenario.defaultModel)
}
