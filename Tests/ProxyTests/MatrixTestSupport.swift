@testable import Proxy

/// Builds a matrix definition from literal rows: sets as `name: expression` in order.
func matrixDefinition(
    vars: [(String, String)] = [],
    costs: [(String, Int)] = [],
    sets: [(String, String)]
) -> MatrixDefinition {
    MatrixDefinition(
        vars: vars.map { MatrixDefinition.Variable(key: $0.0, model: $0.1) },
        evictCosts: costs.map { MatrixDefinition.EvictCost(key: $0.0, multiplier: $0.1) },
        sets: sets.map { MatrixDefinition.Set(name: $0.0, expression: $0.1) }
    )
}

/// Compiles or records why not; a compile error in a table that expects success fails the row.
func compiledMatrix(_ definition: MatrixDefinition, models: [String]) throws -> SwapMatrix {
    try SwapMatrix.compile(definition, models: Set(models)).get()
}

/// llama-swap's config.example.yaml matrix (the models it names, plus two models that are in no set).
let matrixExampleModels = [
    "gemma-model", "qwen-model", "mistral-model", "voxtral-model", "reranker-model", "llama-70B",
    "stable-diffusion", "solo", "solo2",
]

let matrixExample = matrixDefinition(
    vars: [
        ("g", "gemma-model"), ("q", "qwen-model"), ("m", "mistral-model"), ("v", "voxtral-model"),
        ("e", "reranker-model"), ("L", "llama-70B"), ("sd", "stable-diffusion"),
    ],
    costs: [("v", 50), ("L", 30)],
    sets: [
        ("standard", "(g | q | m) & v"),
        ("with_rerank", "(g | q) & v & e"),
        ("creative", "(g | q) & sd"),
        ("full", "L"),
    ]
)
