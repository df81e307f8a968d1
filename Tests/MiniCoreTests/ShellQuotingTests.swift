import MiniCore
import Testing

@Suite("Shell quoting of commands shown")
struct ShellQuotingTests {
    @Test(
        "words a shell keeps as they are stay bare; the others are single-quoted",
        arguments: [
            (["rake", "db:migrate"], "rake db:migrate"),
            (["sh", "-c", "echo $HOME"], "sh -c 'echo $HOME'"),
            (["echo", "it's"], #"echo 'it'\''s'"#),
            (["printf", ""], "printf ''"),
            (["./bin/check", "--all=1", "a,b"], "./bin/check --all=1 a,b"),
            (["x", "a*b", "c;d", "é"], "x 'a*b' 'c;d' 'é'"),
        ])
    func quoting(arguments: [String], shown: String) {
        #expect(ShellQuoting.quote(arguments) == shown)
    }
}
