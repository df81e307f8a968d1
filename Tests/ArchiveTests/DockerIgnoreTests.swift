import Testing

@testable import Archive

@Suite("DockerIgnore")
struct DockerIgnoreTests {
    private func excluded(_ path: String, by patterns: String...) throws -> Bool {
        try DockerIgnore(contents: patterns.joined(separator: "\n")).excludes(path)
    }

    /// moby/patternmatcher's TestMatches table (MatchesOrParentMatches: exact or inexact = true).
    @Test(arguments: [
        ("**", "file", true), ("**", "dir/file", true), ("**/", "file", true),
        ("**/**", "dir/file", true),
        ("dir/**", "dir/file", true), ("dir/**", "dir/dir2/file", true),
        ("**/dir", "dir", true), ("**/dir", "dir/file", true), ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true), ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true), ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true), ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true), ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true), ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false), ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true), ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true), ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true), ("a/*.txt**", "a/file.txt", true), ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true), ("a[b-d]e", "aae", false), ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false), ("abc.def", "abcdef", false), ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false), ("abc?def", "abcZdef", true), ("abc?def", "abcdef", false),
        ("**/foo/bar", "foo/bar", true), ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true), ("abc/**", "abc", false), ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true), ("**/.foo", ".foo", true), ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true), ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
        ("a\\\\", "a\\", true), ("a\\*b", "a*b", true),
    ])
    func patternmatcherTable(pattern: String, path: String, expected: Bool) throws {
        #expect(try excluded(path, by: pattern) == expected, "pattern \(pattern) on \(path)")
    }

    /// Go's filepath.Match table, which patternmatcher's tests reuse.
    @Test(arguments: [
        ("abc", "abc", true), ("*", "abc", true), ("*c", "abc", true), ("a*", "a", true),
        ("a*", "abc", true),
        ("a*", "ab/c", true), ("a*/b", "abc/b", true), ("a*/b", "a/c/b", false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true), ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false), ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true), ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ("ab[c]", "abc", true),
        ("ab[b-d]", "abc", true), ("ab[e-g]", "abc", false), ("ab[^c]", "abc", false),
        ("ab[^b-d]", "abc", false),
        ("ab[^e-g]", "abc", true), ("a\\*b", "ab", false), ("a?b", "a☺b", true),
        ("a[^a]b", "a☺b", true),
        ("a???b", "a☺b", false), ("a[^a][^a][^a]b", "a☺b", false), ("[a-ζ]*", "α", true),
        ("*[a-ζ]", "A", false),
        ("a?b", "a/b", false), ("a*b", "a/b", false), ("[\\]a]", "]", true), ("[\\-]", "-", true),
        ("[x\\-]", "x", true), ("[x\\-]", "-", true), ("[x\\-]", "z", false), ("[\\-x]", "x", true),
        ("[\\-x]", "-", true), ("[\\-x]", "a", false), ("*x", "xxx", true),
    ])
    func filepathMatchTable(pattern: String, path: String, expected: Bool) throws {
        #expect(try excluded(path, by: pattern) == expected, "pattern \(pattern) on \(path)")
    }

    @Test(arguments: [
        "!", "[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]", "\\", "[z-a]", " ! ",
    ])
    func rejectsWhatDockerRejects(pattern: String) {
        #expect {
            try DockerIgnore(contents: pattern)
        } throws: { ($0 as? ArchiveError)?.kind == .invalidIgnorePattern }
    }

    @Test func starMatchesTopLevelOnly() throws {
        #expect(try excluded("notes.txt", by: "*.txt"))
        #expect(try !excluded("docs/notes.txt", by: "*.txt"))
        #expect(try excluded("docs/notes.txt", by: "**/*.txt"))
        #expect(try excluded("docs/notes.txt", by: "*/*.txt"))
    }

    @Test func bangInsideBracketsIsAPlainSet() throws {
        #expect(try excluded("!x", by: "[!a-c]x"))
        #expect(try excluded("bx", by: "[!a-c]x"))
        #expect(try !excluded("dx", by: "[!a-c]x"))
        #expect(try excluded("dx", by: "[^a-c]x"))
    }

    @Test func namesCompareByteWise() throws {
        let nfc = "caf\u{E9}.txt"
        let nfd = "cafe\u{301}.txt"
        #expect(nfc == nfd)  // Swift says equal; Docker does not
        #expect(try excluded(nfc, by: nfc))
        #expect(try !excluded(nfd, by: nfc))
        #expect(try excluded(nfd, by: "caf?*.txt"))
    }

    @Test func patternsAreCleanedAndRelative() throws {
        #expect(try excluded("e", by: "e/f/.."))
        #expect(try excluded("e/g", by: "e/f/.."))
        #expect(try excluded("foo", by: "/foo"))
        #expect(try excluded("a/b", by: "./a//b/"))
        #expect(try DockerIgnore(contents: "/foo\n! /bar/../baz\n").lines == ["foo", "!baz"])
    }

    @Test func commentsBlanksAndWhitespace() throws {
        let rules = try DockerIgnore(
            contents: "\u{FEFF}# comment\n\n  \n  spaced  \r\n #not-a-comment\n")
        #expect(rules.lines == ["spaced", "#not-a-comment"])
        #expect(rules.excludes("spaced"))
        #expect(!rules.excludes("# comment"))
    }

    @Test func lastMatchWinsAndDirectoriesCoverTheirContents() throws {
        #expect(try !excluded("README.md", by: "*.md", "!README.md"))
        #expect(try excluded("README.md", by: "!README.md", "*.md"))
        #expect(try excluded("docs/api/index.html", by: "docs"))
        #expect(try !excluded("docs/README.md", by: "docs", "!docs/README.md"))
        #expect(try excluded("docs/other.md", by: "docs", "!docs/README.md"))
        #expect(
            try excluded("util/docker/web/foo", by: "**", "!util/docker/web", "util/docker/web/foo"))
        #expect(try !excluded("util/docker/web/foo", by: "**", "!util/docker/web"))
        #expect(try !excluded(".", by: "*"))
    }

    @Test func reinclusionBelowADirectoryFollowsDocker() throws {
        let rules = try DockerIgnore(contents: "docs\n!docs/README.md\n")
        #expect(rules.mayReinclude(below: "docs"))
        #expect(!rules.mayReinclude(below: "doc"))
        #expect(!rules.mayReinclude(below: "src"))
        #expect(try !DockerIgnore(contents: "docs\n!*/README.md\n").mayReinclude(below: "docs"))
        #expect(try !DockerIgnore(contents: "docs\n").mayReinclude(below: "docs"))
    }

    @Test func buildFilesAreAlwaysKept() throws {
        let rules = try DockerIgnore(contents: "*\n").keeping(buildFiles: "Dockerfile")
        #expect(rules.excludes("main.swift"))
        #expect(!rules.excludes("Dockerfile"))
        #expect(!rules.excludes(".dockerignore"))
        #expect(try DockerIgnore(contents: "src\n").keeping(buildFiles: "Dockerfile").lines == ["src"])
    }
}
