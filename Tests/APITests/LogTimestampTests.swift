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
}
