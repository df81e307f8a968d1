import Testing

@testable import API

@Suite("log timestamps")
struct LogTimestampTests {
    @Test("the engine's time is split off a line; a piece of a long line, which has none, is left whole")
    func split() throws {
        let stamped = try #require(LogTimestamp.split("2026-12-07T13:20:00.123456789Z GET / 200"))
        #expect(stamped.time == "2026-12-07T13:20:00.123456789Z" && stamped.text == "GET / 200")
        #expect(LogTimestamp.split("2026-12-07T13:20:00Z ")?.text == "")
        for piece in [#""status": "ok"}"#, "no-space-at-all", "2026-12-07 13:20:00 not the engine's", ""] {
            #expect(LogTimestamp.split(piece) == nil, "\(piece)")
        }
    }

    @Test("the engine's times sort as they follow each other, whatever their number of fraction digits")
    func sortKey() {
        let times = [
            "2026-12-07T13:20:00Z", "2026-12-07T13:20:00.01Z", "2026-12-07T13:20:00.1Z",
            "2026-12-07T13:20:00.123456789Z", "2026-12-07T13:20:00.5Z", "2026-12-07T13:20:01Z",
        ]
        #expect(times.reversed().sorted { LogTimestamp.sortKey($0[...]) < LogTimestamp.sortKey($1[...]) } == times)
        #expect(LogTimestamp.sortKey("2026-12-07T13:20:00.5Z") == "2026-12-07T13:20:00.500000000")
    }
}
