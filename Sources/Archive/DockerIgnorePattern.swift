/// One compiled `.dockerignore` pattern with the matching rules of moby/patternmatcher.
///
/// patternmatcher turns a pattern into a Go regular expression, except for three fast paths
/// it picks from the pattern's shape; the same shapes are kept here because they match
/// differently (a leading `**` followed only by literal text is a plain suffix test, so
/// `**foo` matches `barfoo`):
/// - only literal characters: the path must equal the pattern;
/// - literal characters then a final `**`: the path must start with the literal part;
/// - `**` then only literal characters: the path must end with them (`**/foo` also matches `foo`);
/// - anything else: the token program below, equal to patternmatcher's regular expression.
///
/// Comparison is per Unicode scalar (Go compares runes), never by canonical equivalence, so
/// an NFD name does not match an NFC pattern. Two documented differences from Docker, both
/// for patterns nobody writes on purpose: `*` and `?` inside `[...]` are plain characters
/// (Docker pastes a regular expression inside the set), and `\x` always means a literal `x`
/// (Docker's regular expression would read `\d` as a digit class).
struct DockerIgnorePattern: Sendable {
    /// The cleaned pattern, without its leading `!`.
    let text: String
    /// True for `!pattern`: a match re-includes the path.
    let isNegation: Bool
    private let matcher: Matcher

    private enum Matcher: Sendable {
        case exact([UInt8])
        case prefix([UInt8])
        case suffix([UInt8])
        case program([Token])
    }

    /// Compiles one line as patternmatcher's `New` does (the line is cleaned already).
    init(_ line: String) throws {
        var text = line
        isNegation = text.hasPrefix("!")
        if isNegation {
            text.removeFirst()
            guard !text.isEmpty else {
                throw ArchiveError(
                    .invalidIgnorePattern,
                    "invalid .dockerignore pattern \"!\": a negation needs a pattern after the '!'"
                )
            }
        }
        self.text = text
        matcher = try Self.compile(text)
    }

    /// Whether `path` (relative, `/`-separated, cleaned) matches the pattern itself.
    func matches(_ path: String) -> Bool {
        switch matcher {
        case .exact(let literal):
            return path.utf8.elementsEqual(literal)
        case .prefix(let literal):
            return path.utf8.starts(with: literal)
        case .suffix(let literal):
            let bytes = Array(path.utf8)
            if bytes.reversed().starts(with: literal.reversed()) { return true }
            return literal.first == UInt8(ascii: "/") && bytes.elementsEqual(literal.dropFirst())
        case .program(let tokens):
            return Token.run(tokens, on: path.unicodeScalars)
        }
    }

    /// Whether `path` or one of its parent directories matches: patternmatcher's
    /// `MatchesOrParentMatches` test for one pattern.
    func matchesOrParentMatches(_ path: String) -> Bool {
        if matches(path) { return true }
        var parent = path.utf8.startIndex
        while let slash = path.utf8[parent...].firstIndex(of: UInt8(ascii: "/")) {
            if matches(String(path[..<slash])) { return true }
            parent = path.utf8.index(after: slash)
        }
        return false
    }

    private static func compile(_ pattern: String) throws -> Matcher {
        enum Shape { case exact, prefix, suffix, program }
        var shape = Shape.exact
        var tokens: [Token] = []
        var scalars = pattern.unicodeScalars[...]
        var isFirst = true
        while let scalar = scalars.popFirst() {
            defer { isFirst = false }
            switch scalar {
            case "*" where scalars.first == "*":
                scalars.removeFirst()
                if scalars.first == "/" { scalars.removeFirst() }
                if scalars.isEmpty {
                    if shape == .exact {
                        shape = .prefix
                    } else {
                        tokens.append(.anything)
                        shape = .program
                    }
                } else {
                    tokens.append(.anyDirectories)
                    shape = .program
                }
                if isFirst { shape = .suffix }
            case "*":
                tokens.append(.anyNameRun)
                shape = .program
            case "?":
                tokens.append(.anyNameScalar)
                shape = .program
            case "\\":
                guard let escaped = scalars.popFirst() else {
                    throw ArchiveError(
                        .invalidIgnorePattern,
                        "invalid .dockerignore pattern \"\(pattern)\": it ends with '\\' (Docker rejects it too)"
                    )
                }
                tokens.append(.literal(escaped))
                shape = .program
            case "[":
                tokens.append(.set(try ScalarSet(parsing: &scalars, in: pattern)))
                shape = .program
            case "]":
                tokens.append(.literal(scalar))
                shape = .program
            default:
                tokens.append(.literal(scalar))
            }
        }
        let bytes = Array(pattern.utf8)
        switch shape {
        case .exact: return .exact(bytes)
        case .prefix: return .prefix(Array(bytes.dropLast(2)))
        case .suffix: return .suffix(Array(bytes.dropFirst(2)))
        case .program: return .program(tokens)
        }
    }
}

/// One step of a compiled pattern: what patternmatcher's regular expression does, run as a
/// small NFA so that matching is linear in the path length whatever the pattern.
private enum Token: Sendable {
    /// One exact scalar.
    case literal(Unicode.Scalar)
    /// `?`: one scalar other than `/`.
    case anyNameScalar
    /// `*`: any run of scalars other than `/` (`[^/]*`).
    case anyNameRun
    /// `**` followed by more pattern: nothing, or anything ending with `/` (`(.*/)?`).
    case anyDirectories
    /// A final `**` that is not a plain prefix: anything (`.*`).
    case anything
    /// `[...]`.
    case set(ScalarSet)

    private static let slash: Unicode.Scalar = "/"
    /// Go's `.` does not match a newline; kept so that `**` behaves exactly the same.
    private static let newline: Unicode.Scalar = "\n"

    /// Runs the NFA. State `2i` means "at token i", `2i + 1` "inside the `.*/` of token i".
    static func run(_ tokens: [Token], on input: String.UnicodeScalarView) -> Bool {
        let accepting = 2 * tokens.count
        var current = [Bool](repeating: false, count: accepting + 1)
        var next = current
        addClosure(of: 0, tokens, to: &current)
        for scalar in input {
            for index in next.indices { next[index] = false }
            var alive = false
            for state in current.indices where current[state] && state != accepting {
                let position = state / 2
                if state % 2 == 1 {
                    // Inside `(.*/)?`: `.*` takes anything, and a `/` may also end the group.
                    guard scalar != newline else { continue }
                    next[state] = true
                    if scalar == slash { addClosure(of: 2 * (position + 1), tokens, to: &next) }
                    alive = true
                    continue
                }
                switch tokens[position] {
                case .literal(let expected) where expected == scalar:
                    addClosure(of: 2 * (position + 1), tokens, to: &next)
                    alive = true
                case .anyNameScalar where scalar != slash:
                    addClosure(of: 2 * (position + 1), tokens, to: &next)
                    alive = true
                case .set(let set) where set.contains(scalar):
                    addClosure(of: 2 * (position + 1), tokens, to: &next)
                    alive = true
                case .anyNameRun where scalar != slash, .anything where scalar != newline:
                    addClosure(of: state, tokens, to: &next)
                    alive = true
                default:
                    break
                }
            }
            guard alive else { return false }
            swap(&current, &next)
        }
        return current[accepting]
    }

    /// Marks `state` and every state reachable from it without reading a scalar.
    private static func addClosure(of state: Int, _ tokens: [Token], to states: inout [Bool]) {
        var state = state
        while !states[state] {
            states[state] = true
            let position = state / 2
            guard state % 2 == 0, position < tokens.count else { return }
            switch tokens[position] {
            case .anyDirectories:
                states[state + 1] = true
                state = 2 * (position + 1)
            case .anyNameRun, .anything:
                state = 2 * (position + 1)
            default:
                return
            }
        }
    }
}

/// A `[...]` set with Go's `filepath.Match` syntax, which patternmatcher validates patterns
/// with: an optional leading `^` negates, `a-z` is a range, `\` escapes the next character.
/// `!` has no special meaning, so `[!a-c]` matches `!`, `a`, `b` or `c`, unlike `.gitignore`.
private struct ScalarSet: Sendable {
    private var ranges: [ClosedRange<Unicode.Scalar>] = []
    private var isNegated = false

    /// Parses after the opening `[`, consuming through the closing `]`.
    init(parsing scalars: inout Substring.UnicodeScalarView, in pattern: String) throws {
        func invalid(_ reason: String) -> ArchiveError {
            ArchiveError(
                .invalidIgnorePattern,
                "invalid .dockerignore pattern \"\(pattern)\": \(reason) (Docker rejects it too)"
            )
        }
        func element() throws -> Unicode.Scalar {
            guard var scalar = scalars.popFirst(), scalar != "-", scalar != "]" else {
                throw invalid("a '[' set needs characters or ranges before ']'")
            }
            if scalar == "\\" {
                guard let escaped = scalars.popFirst() else { throw invalid("'\\' ends the pattern") }
                scalar = escaped
            }
            guard !scalars.isEmpty else { throw invalid("a '[' set is never closed with ']'") }
            return scalar
        }
        if scalars.first == "^" {
            scalars.removeFirst()
            isNegated = true
        }
        while true {
            if scalars.first == "]", !ranges.isEmpty {
                scalars.removeFirst()
                return
            }
            let low = try element()
            var high = low
            if scalars.first == "-" {
                scalars.removeFirst()
                high = try element()
            }
            guard low <= high else { throw invalid("the range \(low)-\(high) is reversed") }
            ranges.append(low...high)
        }
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        ranges.contains { $0.contains(scalar) } != isNegated
    }
}
