import Foundation
import MiniCore
import Testing

@Suite("wire JSON")
struct JSONTests {
    struct Stamped: Codable, Equatable {
        let at: Date
    }

    @Test("dates go out as UTC ISO 8601 with milliseconds and come back to the millisecond")
    func millisecondDates() throws {
        let date = Date(timeIntervalSince1970: 1_796_000_000.25)
        let data = try JSONEncoder.mini.encode(Stamped(at: date))
        #expect(String(decoding: data, as: UTF8.self) == #"{"at":"2026-11-30T00:53:20.250Z"}"#)
        let decoded = try JSONDecoder.mini.decode(Stamped.self, from: data)
        #expect(abs(decoded.at.timeIntervalSince(date)) < 0.001)
    }

    @Test("a date read from the wire is written back as it was read, to the millisecond")
    func datesRoundTrip() throws {
        // Stored times are seconds as Doubles: most milliseconds are a hair off in binary.
        for milliseconds in stride(from: 1_796_000_008_000, to: 1_796_000_009_000, by: 1) {
            let json = try JSONEncoder.mini.encode(
                Stamped(at: Date(timeIntervalSince1970: Double(milliseconds) / 1000)))
            let again = try JSONEncoder.mini.encode(try JSONDecoder.mini.decode(Stamped.self, from: json))
            #expect(
                again == json,
                "\(String(decoding: json, as: UTF8.self)) came back as \(String(decoding: again, as: UTF8.self))")
            if again != json { break }
        }
    }

    @Test("dates without fractional seconds are read too; anything else is refused with an example")
    func otherDates() throws {
        let whole = try JSONDecoder.mini.decode(Stamped.self, from: Data(#"{"at":"2026-11-30T00:53:20Z"}"#.utf8))
        #expect(whole.at == Date(timeIntervalSince1970: 1_796_000_000))
        #expect {
            try JSONDecoder.mini.decode(Stamped.self, from: Data(#"{"at":"yesterday"}"#.utf8))
        } throws: { error in
            "\(error)".contains("is not an ISO 8601 date")
        }
    }
}
