import Foundation

/// Variables from a `.env` file, as `mini env set --file` reads them: the format Docker
/// Compose, Kamal and the dotenv libraries share.
///
/// - `KEY=VALUE` per line, `export KEY=VALUE` too; blank lines and lines starting with `#`
///   are skipped.
/// - An unquoted value runs to the end of the line, without the whitespace around it or a
///   comment after ` #`.
/// - A value in single quotes is taken as written, newlines included.
/// - A value in double quotes may span lines and knows the escapes `\n`, `\r`, `\t`, `\"`
///   and `\\`.
/// - `${VAR}` is not expanded: it is taken as written.
public enum DotEnv {
    /// A line that is not what the format allows.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        /// The line it was found on, from 1.
        public let line: Int
        public let problem: String

        public var description: String { "line \(line): \(problem)" }
    }

    /// `KEY=VALUE` as ``parse(_:)`` reads it back: the value as it is when it can be, else in
    /// double quotes with its newlines, tabs, quotes and backslashes escaped (`mini env
    /// --reveal > .env`, then `mini env set --file .env` on another app).
    public static func line(key: String, value: String) -> String {
        let plain =
            value.first.map { !"\"' \t".contains($0) } ?? true
            && value.last.map { $0 != " " && $0 != "\t" } ?? true
            && !value.unicodeScalars.contains(where: { "\n\r\t#".unicodeScalars.contains($0) })
        guard !plain else { return "\(key)=\(value)" }
        var quoted = ""
        for character in value {
            switch character {
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\r\n": quoted += "\\r\\n"
            case "\t": quoted += "\\t"
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            default: quoted.append(character)
            }
        }
        return "\(key)=\"\(quoted)\""
    }

    /// The variables of `text`, in the order they come; a key given twice keeps its last value.
    public static func parse(_ text: String) throws(Failure) -> [(key: String, value: String)] {
        // Windows line ends, also inside quoted values, and a byte order mark, as editors save them.
        var text = text.replacingOccurrences(of: "\r\n", with: "\n")
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.variables()
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var line = 1

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func advance() {
            if current == "\n" { line += 1 }
            index += 1
        }

        mutating func skip(while condition: (Unicode.Scalar) -> Bool) {
            while let scalar = current, condition(scalar) { advance() }
        }

        mutating func skipBlanks() { skip { $0 == " " || $0 == "\t" || $0 == "\r" } }

        mutating func restOfLine() -> String {
            var text = String.UnicodeScalarView()
            while let scalar = current, scalar != "\n" {
                text.append(scalar)
                advance()
            }
            return String(text)
        }

        mutating func variables() throws(Failure) -> [(key: String, value: String)] {
            var found: [(key: String, value: String)] = []
            while current != nil {
                skip { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
                guard let first = current else { break }
                if first == "#" {
                    _ = restOfLine()
                    continue
                }
                let startLine = line
                let start = index
                var key = name()
                if key == "export", current == " " || current == "\t" {
                    skipBlanks()
                    key = name()
                }
                skipBlanks()
                guard current == "=", !key.isEmpty else {
                    index = start
                    throw Failure(line: startLine, problem: "'\(restOfLine())' is not KEY=VALUE")
                }
                if let problem = EnvironmentKey.problem(with: key) {
                    throw Failure(line: startLine, problem: problem)
                }
                advance()
                skipBlanks()
                let value = try self.value(startLine: startLine)
                found.removeAll { $0.key == key }
                found.append((key, value))
            }
            return found
        }

        /// Letters, digits, `_` and what else a mistyped key holds, up to `=` or a blank.
        mutating func name() -> String {
            var text = String.UnicodeScalarView()
            while let scalar = current, !" \t\r\n=".unicodeScalars.contains(scalar) {
                text.append(scalar)
                advance()
            }
            return String(text)
        }

        mutating func value(startLine: Int) throws(Failure) -> String {
            switch current {
            case "\"": return try quoted(closingWith: "\"", escapes: true, startLine: startLine)
            case "'": return try quoted(closingWith: "'", escapes: false, startLine: startLine)
            default:
                var text = restOfLine()
                if let comment = text.range(of: " #") ?? text.range(of: "\t#") {
                    text = String(text[..<comment.lowerBound])
                }
                return text.trimmingCharacters(in: .whitespaces.union(.init(charactersIn: "\r")))
            }
        }

        mutating func quoted(closingWith quote: Unicode.Scalar, escapes: Bool, startLine: Int) throws(Failure)
            -> String
        {
            advance()
            var text = String.UnicodeScalarView()
            while let scalar = current, scalar != quote {
                advance()
                guard escapes, scalar == "\\", let next = current else {
                    text.append(scalar)
                    continue
                }
                advance()
                switch next {
                case "n": text.append("\n")
                case "r": text.append("\r")
                case "t": text.append("\t")
                case "\"", "\\": text.append(next)
                default:
                    text.append(scalar)
                    text.append(next)
                }
            }
            guard current == quote else {
                throw Failure(line: startLine, problem: "the value's \(quote) is not closed")
            }
            advance()
            skipBlanks()
            if current == "#" { _ = restOfLine() }
            guard current == nil || current == "\n" else {
                throw Failure(line: line, problem: "'\(restOfLine())' follows a quoted value")
            }
            return String(text)
        }
    }
}
