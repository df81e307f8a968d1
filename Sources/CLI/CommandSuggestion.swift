import ArgumentParser

/// The subcommand a mistyped word most likely meant (`mini env sett web A=1`, `mini deplyo`),
/// as git and Heroku's CLI suggest one: asked only once parsing or validation failed.
struct CommandSuggestion {
    /// What to say: the word, and the command it most likely meant.
    let message: String
    /// Whether the word can only have been meant as a command, so that the suggestion is the
    /// whole error: its group has no default subcommand to take it as an argument. Otherwise
    /// the word may be an app (`mini env web A=1`), and the suggestion follows the usual error.
    let isTheError: Bool

    /// The suggestion for the first word of `arguments`, before any option, that names no
    /// subcommand of the command reached so far but is close to one (one edit for names of up
    /// to four letters, else two, as git allows); nil when there is none.
    init?(for arguments: [String]) {
        var command: ParsableCommand.Type = Mini.self
        var path = ["mini"]
        for word in arguments {
            let subcommands = command.configuration.subcommands
            guard !word.hasPrefix("-"), !subcommands.isEmpty else { return nil }
            if let next = subcommands.first(where: {
                $0._commandName == word || $0.configuration.aliases.contains(word)
            }) {
                command = next
                path.append(word)
                continue
            }
            let nearest = subcommands.map { $0._commandName }
                .map { (name: $0, distance: Self.editDistance($0, word)) }
                .filter { $0.distance <= ($0.name.count <= 4 ? 1 : 2) }
                .min { $0.distance < $1.distance }
            guard let nearest else { return nil }
            let parent = path.joined(separator: " ")
            isTheError = command.configuration.defaultSubcommand == nil
            message =
                isTheError
                ? "'\(word)' is not a command of '\(parent)'. Did you mean '\(parent) \(nearest.name)'?\n"
                    + "  See '\(parent) --help' for its commands."
                : "  If '\(word)' was meant as a command: did you mean '\(parent) \(nearest.name)'?"
            return
        }
        return nil
    }

    /// The Levenshtein distance: the fewest insertions, deletions and substitutions that turn
    /// one word into the other.
    static func editDistance(_ first: String, _ second: String) -> Int {
        let first = Array(first)
        let second = Array(second)
        var previous = Array(0...second.count)
        for (row, character) in first.enumerated() {
            var current = [row + 1]
            for (column, other) in second.enumerated() {
                current.append(
                    min(previous[column + 1] + 1, current[column] + 1, previous[column] + (character == other ? 0 : 1)))
            }
            previous = current
        }
        return previous[second.count]
    }
}
