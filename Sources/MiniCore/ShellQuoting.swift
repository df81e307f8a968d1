/// Commands shown as a shell would read them back: `sh -c 'echo $HOME'`, not `sh -c echo $HOME`.
public enum ShellQuoting {
    /// The arguments joined by spaces, each that a shell would split or expand in single
    /// quotes (a `'` inside as `'\''`).
    public static func quote(_ arguments: [String]) -> String {
        arguments.map(quote).joined(separator: " ")
    }

    private static func quote(_ argument: String) -> String {
        let plain = !argument.isEmpty && argument.unicodeScalars.allSatisfy { safe.contains($0) }
        return plain ? argument : "'" + argument.replacing("'", with: #"'\''"#) + "'"
    }

    private static let safe = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,".unicodeScalars)
}
