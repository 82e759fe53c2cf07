import Testing

@testable import Proxy

@Suite struct ConfigCommandLineSplitterTests {
    @Test(
        arguments: [
            ("llama-server --port 8080", ["llama-server", "--port", "8080"]),
            ("  a   b\tc  ", ["a", "b", "c"]),
            ("a 'b c' d", ["a", "b c", "d"]),
            (#"a "b c" d"#, ["a", "b c", "d"]),
            (#"--model '/models/My Model.gguf'"#, ["--model", "/models/My Model.gguf"]),
            (#"'it''s'"#, ["its"]),
            (#""it's""#, ["it's"]),
            (#"'say "hi"'"#, [#"say "hi""#]),
            (#"a\ b"#, ["a b"]),
            (#"a\\b"#, [#"a\b"#]),
            (#""a\"b""#, [#"a"b"#]),
            (#""a\\b""#, [#"a\b"#]),
            (#""a\$b""#, ["a$b"]),
            (#""a\nb""#, [#"a\nb"#]),
            (#"'a\nb'"#, [#"a\nb"#]),
            ("x '' y", ["x", "", "y"]),
            (#"x "" y"#, ["x", "", "y"]),
            ("pre'quoted'post", ["prequotedpost"]),
            ("$HOME ${X} a;b a|b", ["$HOME", "${X}", "a;b", "a|b"]),
            ("--color a#b", ["--color", "a#b"]),
            ("cmd # trailing comment", ["cmd"]),
            ("cmd '#not a comment'", ["cmd", "#not a comment"]),
            ("", []),
            ("   \n  \n", []),
        ] as [(String, [String])])
    func splitsLikeAPosixShell(text: String, expected: [String]) throws {
        #expect(try CommandLineSplitter.split(text) == expected)
    }

    @Test func multiLineWithCommentsAndContinuations() throws {
        let text = """
            # a comment line, with a ${macro} in it
            /usr/bin/llama-server \\
              --port 5800 \\
              # indented comment
              --model '/m/a b.gguf'
            --ctx-size 4096   # why this size
            --flag\\
            next
            """
        #expect(
            try CommandLineSplitter.split(text) == [
                "/usr/bin/llama-server", "--port", "5800", "--model", "/m/a b.gguf", "--ctx-size", "4096", "--flag",
                "next",
            ])
    }

    @Test func crlfLineEndsAreBlanks() throws {
        #expect(try CommandLineSplitter.split("a \\\r\nb\r\nc") == ["a", "b", "c"])
    }

    @Test func quotedTextKeepsLineBreaks() throws {
        #expect(try CommandLineSplitter.split("a 'one\ntwo' b") == ["a", "one\ntwo", "b"])
    }

    @Test func commentLinesAreStrippedBeforeMacros() {
        let text = "  # ${unknown}\nrun ${x}\n#x"
        #expect(CommandLineSplitter.strippingCommentLines(text) == "run ${x}")
    }

    @Test(
        arguments: [
            ("a 'b c", 1, 3, "single quote"),
            ("a\n  b \"c d", 2, 5, "double quote"),
            ("ok\n# skipped\nx 'open", 3, 3, "single quote"),
        ] as [(String, Int, Int, String)])
    func unterminatedQuotesAreLocated(text: String, line: Int, column: Int, kind: String) {
        #expect {
            try CommandLineSplitter.split(text)
        } throws: { error in
            guard let failure = error as? CommandLineSplitter.Failure else { return false }
            return failure.line == line && failure.column == column && failure.message.contains(kind)
        }
    }
}
