// The timeline model and client profiles (`Timeline`) and the scenario-file writer of the recorder
// (`ScenarioWriter`) moved out of this library so that the proxy shares them; the harness's users keep seeing them here.
@_exported import ScenarioWriter
@_exported import Timeline
