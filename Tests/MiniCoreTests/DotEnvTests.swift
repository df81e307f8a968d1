import MiniCore
import Testing

@Suite(".env files")
struct DotEnvTests {
    private func parsed(_ text: String) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try DotEnv.parse(text).map { ($0.key, $0.value) })
    }

    @Test("the forms Docker Compose and the dotenv libraries read")
    func forms() throws {
        let text = """
            # a comment
            PLAIN=value
            export EXPORTED=yes
              SPACED = around  
            EMPTY=
            URL=postgres://db/shop?sslmode=disable#not-a-comment
            COMMENTED=value # a comment
            SINGLE='it is $HOME \\n as written'
            DOUBLE="line one\\nline \\"two\\"\\t\\\\ end" # comment
            MULTI="first
            second"
            LITERAL=${NOT_EXPANDED}
            CRLF=windows\r
            TWICE=first
            TWICE=last
            """
        let values = try parsed(text)
        #expect(values["PLAIN"] == "value")
        #expect(values["EXPORTED"] == "yes")
        #expect(values["SPACED"] == "around")
        #expect(values["EMPTY"] == "")
        #expect(values["URL"] == "postgres://db/shop?sslmode=disable#not-a-comment")
        #expect(values["COMMENTED"] == "value")
        #expect(values["SINGLE"] == "it is $HOME \\n as written")
        #expect(values["DOUBLE"] == "line one\nline \"two\"\t\\ end")
        #expect(values["MULTI"] == "first\nsecond")
        #expect(values["LITERAL"] == "${NOT_EXPANDED}")
        #expect(values["CRLF"] == "windows")
        #expect(values["TWICE"] == "last")
        #expect(try DotEnv.parse(text).filter { $0.key == "TWICE" }.count == 1)
        #expect(try parsed("QUOTED='a b c'")["QUOTED"] == "a b c")
        // As editors on Windows save them: a byte order mark, CRLF also inside quoted values.
        let windows = try parsed("\u{FEFF}KEY=\"-----BEGIN-----\r\nbody\r\n\"\r\nNEXT=1\r\n")
        #expect(windows == ["KEY": "-----BEGIN-----\nbody\n", "NEXT": "1"])
        #expect(try parsed("") == [:])
    }

    @Test("a variable written as a line reads back as it was, quoted only when it must be")
    func lines() throws {
        let values = [
            "plain", "", "postgres://db/x?a=b&c=d", "with spaces inside", " leading", "trailing\t", "two\nlines",
            "crlf\r\nline", "tab\there", "say \"hi\"", "back\\slash", "'single'", "#hash", "a #comment", "$HOME ${X}",
            "-----BEGIN KEY-----\nabc\nX=injected\n-----END KEY-----\n", "ünïcödé ✓",
        ]
        for value in values {
            let line = DotEnv.line(key: "K", value: value)
            #expect(try parsed(line) == ["K": value], "\(line)")
        }
        #expect(DotEnv.line(key: "URL", value: "postgres://db/x?a=b") == "URL=postgres://db/x?a=b")
        #expect(DotEnv.line(key: "PEM", value: "a\nX=1") == #"PEM="a\nX=1""#)
    }

    @Test("what is not a variable is refused with its line")
    func refused() {
        for (text, line, problem) in [
            ("A=1\nnot a pair\n", 2, "'not a pair' is not KEY=VALUE"),
            ("A=1\n\n=value", 3, "is not KEY=VALUE"),
            ("9LIVES=1", 1, "'9LIVES' is not a valid variable name"),
            ("A=\"open\nstill open", 1, "the value's \" is not closed"),
            ("A='x' trailing", 1, "'trailing' follows a quoted value"),
        ] {
            #expect {
                try DotEnv.parse(text)
            } throws: { error in
                guard let failure = error as? DotEnv.Failure else { return false }
                return failure.line == line && failure.description.contains(problem)
            }
        }
    }
}
