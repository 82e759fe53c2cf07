/// Thrown by ``DrivenRelayRig`` when the relay did not do what the rig needs next (so the test fails with words,
/// not a crash).
struct RigError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
