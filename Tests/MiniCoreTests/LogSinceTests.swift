import Foundation
import MiniCore
import Testing

@Suite("mini logs --since")
struct LogSinceTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("durations count back from now; times and Unix times name a moment")
    func forms() {
        #expect(LogSince.date("90s", now: now) == now.addingTimeInterval(-90))
        #expect(LogSince.date("10m", now: now) == now.addingTimeInterval(-600))
        #expect(LogSince.date("2h", now: now) == now.addingTimeInterval(-7200))
        #expect(LogSince.date("1d", now: now) == now.addingTimeInterval(-86400))
        #expect(LogSince.date("0s", now: now) == now)
        #expect(LogSince.date("2027-01-15T08:00:00Z") == now)
        #expect(LogSince.date("2027-01-15T08:00:00.250Z")?.timeIntervalSince1970 == 1_800_000_000.25)
        #expect(LogSince.date("2027-01-15T09:00:00+01:00")?.timeIntervalSince1970 == 1_800_000_000)
        #expect(LogSince.date("1800000000") == now)
        #expect(LogSince.date("1800000000.5")?.timeIntervalSince1970 == 1_800_000_000.5)
    }

    @Test("anything else is refused")
    func refused() {
        for text in [
            "", "m", "10x", "-5m", "1.5h", "yesterday", "2027-01-15", "99999999999999d", "nan", "-1", "1e300", "1e3",
            "0x10", "253402300800", "inf", "10", "999999999",
        ] {
            #expect(LogSince.date(text, now: now) == nil, "\(text)")
        }
    }
}
