import Foundation

/// The rules of a `.dockerignore` file, applied exactly as Docker applies them when it sends
/// a build context (moby/patternmatcher and the docker CLI's `ignorefile.ReadAll`).
///
/// - Lines starting with `#` are comments; surrounding white space is trimmed; blank lines go.
/// - `!pattern` re-includes what earlier patterns excluded: the last matching line wins.
/// - Patterns are cleaned like paths first (`/a//b/` → `a/b`, `e/f/..` → `e`); a leading `/`
///   means nothing (everything is relative to the context root).
/// - `*` and `?` never cross a `/`, so `*.txt` matches at the top level only (unlike
///   `.gitignore`); `**` matches any number of directories, including none.
/// - `[a-c]` is a set and `[^a-c]` its negation; `[!a-c]` is a *plain* set of `!`, `a`–`c`.
/// - A path is excluded when it, or one of its parent directories, matches: excluding a
///   directory excludes everything below it.
/// - Names compare scalar by scalar: an NFD name does not match an NFC pattern.
public struct DockerIgnore: Sendable {
    /// The file name Docker reads at the root of the build context.
    public static let fileName = ".dockerignore"

    private var patterns: [DockerIgnorePattern]

    /// Rules that exclude nothing.
    public init() { patterns = [] }

    /// Parses the text of a `.dockerignore` file.
    /// - Throws: ``ArchiveError`` (``ArchiveError/Kind/invalidIgnorePattern``) for a line
    ///   Docker rejects too, such as a lone `!` or an unclosed `[`.
    public init(contents: String) throws {
        patterns = try Self.lines(of: contents).map(DockerIgnorePattern.init)
    }

    /// Reads `<directory>/.dockerignore`; no file means no rules.
    /// - Throws: ``ArchiveError`` when the file exists but cannot be read or parsed.
    public init(contextDirectory directory: String) throws {
        let path = directory + "/" + Self.fileName
        guard FileManager.default.fileExists(atPath: path) else {
            self.init()
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ArchiveError(.unreadable, "cannot read \(path): check its permissions")
        }
        try self.init(contents: String(decoding: data, as: UTF8.self))
    }

    /// The cleaned patterns, `!` included, in file order.
    public var lines: [String] { patterns.map { ($0.isNegation ? "!" : "") + $0.text } }

    /// Whether the context entry at `path` (relative, `/`-separated) is left out:
    /// patternmatcher's `MatchesOrParentMatches`.
    public func excludes(_ path: String) -> Bool {
        let path = CleanPath.clean(path)
        guard path != "." else { return false }
        var excluded = false
        for pattern in patterns where pattern.isNegation == excluded {
            if pattern.matchesOrParentMatches(path) { excluded = !pattern.isNegation }
        }
        return excluded
    }

    /// Whether a walk must still look inside the excluded directory `path`, because a
    /// negation pattern could re-include something below it. This is Docker's own test
    /// (the text of a `!` pattern starts with `path/`), so that the walk sends exactly what
    /// `docker build` sends: `!*/keep` does not reopen an excluded directory in Docker either.
    public func mayReinclude(below path: String) -> Bool {
        let directory = Array(CleanPath.clean(path).utf8) + [UInt8(ascii: "/")]
        return patterns.contains { pattern in
            pattern.isNegation && (Array(pattern.text.utf8) + [UInt8(ascii: "/")]).starts(with: directory)
        }
    }

    /// The rules with the files Docker always sends (`.dockerignore` and the Dockerfile)
    /// re-included, the way the docker CLI's `TrimBuildFilesFromExcludes` does it.
    public func keeping(buildFiles dockerfile: String) throws -> DockerIgnore {
        var rules = self
        for path in [Self.fileName, dockerfile] where rules.excludes(path) {
            rules.patterns.append(try DockerIgnorePattern("!" + CleanPath.clean(path)))
        }
        return rules
    }

    /// The docker CLI's `ignorefile.ReadAll`: lines of the file, comments and blanks dropped,
    /// each pattern cleaned with any leading `/` removed, `!` kept in front.
    private static func lines(of contents: String) -> [String] {
        var text = Substring(contents)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        // Split on scalars: "\r\n" is a single Character.
        return text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).compactMap {
            rawLine in
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            guard !line.hasPrefix("#") else { return nil }
            var pattern = trimmed(line)
            guard !pattern.isEmpty else { return nil }
            let isNegation = pattern.hasPrefix("!")
            if isNegation { pattern = trimmed(pattern.dropFirst()) }
            if !pattern.isEmpty {
                pattern = Substring(CleanPath.clean(String(pattern)))
                if pattern.count > 1, pattern.hasPrefix("/") { pattern.removeFirst() }
            }
            return (isNegation ? "!" : "") + pattern
        }
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return Substring(scalars[first...last])
    }
}
