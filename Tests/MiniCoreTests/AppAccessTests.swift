import Foundation
import MiniCore
import Testing

@Suite("app patterns")
struct AppAccessTests {
    @Test(
        "a pattern matches whole names, '*' any run of characters (none too)",
        arguments: [
            ("pr-*", "pr-1", true), ("pr-*", "pr-", true), ("pr-*", "pr", false), ("pr-*", "xpr-1", false),
            ("*-preview", "shop-preview", true), ("*-preview", "shop-preview-2", false), ("*", "anything", true),
            ("a*b*c", "abc", true), ("a*b*c", "a-b-b-c", true), ("a*b*c", "a-c-b", false), ("shop", "shop", true),
            ("shop", "shop2", false), ("**x", "x", true), ("a*a", "aaaa", true), ("a*a", "a", false),
        ])
    func matching(pattern: String, name: String, matches: Bool) throws {
        #expect(try AppPattern(pattern).matches(name) == matches)
    }

    @Test("a pattern is app-name characters and '*', 1 to 64 of them")
    func validation() {
        for bad in ["", "PR-*", "pr_*", "pr-?", "pr-[1]", "a b", "-*", "*-", "-", String(repeating: "a", count: 65)] {
            #expect(throws: NameError.self, "\(bad)") { try AppPattern(bad) }
        }
        #expect((try? AppPattern("pr-*"))?.rawValue == "pr-*")
    }

    @Test("access to every app, to matching apps, to none")
    func access() throws {
        let app = try AppName("pr-3")
        #expect(AppAccess.every.allows(app))
        #expect(AppAccess.matching([try AppPattern("x"), try AppPattern("pr-*")]).allows(app))
        #expect(!AppAccess.matching([]).allows(app))
        #expect(
            AppAccess.matching([try AppPattern("pr-*"), try AppPattern("qa")]).description == "apps matching pr-*, qa")
    }

    @Test("a duration counts ahead for --expires and back for --since; a time is taken as it is")
    func relativeTime() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(RelativeTime.date("30d", direction: .ahead, now: now) == now.addingTimeInterval(30 * 86400))
        #expect(RelativeTime.date("2h", direction: .back, now: now) == now.addingTimeInterval(-7200))
        #expect(
            RelativeTime.date("2027-03-01T00:00:00Z", direction: .ahead, now: now)
                == Date(timeIntervalSince1970: 1_803_859_200))
        for bad in ["30", "d", "-1d", "1w", "tomorrow"] {
            #expect(RelativeTime.date(bad, direction: .ahead, now: now) == nil, "\(bad)")
        }
    }
}
