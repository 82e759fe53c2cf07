import FakeUpstream

print("harness: not implemented yet")
