import Foundation
import NIOCore

/// Decodes a stream of JSON values, one a line, as `/events` and `/build` send them.
struct JSONLinesDecoder<Element: Decodable & Sendable>: ResponseStreamDecoder {
    private var lines = LineSplitter()

    mutating func decode(_ chunk: ByteBuffer) throws -> [Element] {
        lines.append(chunk)
        var decoded: [Element] = []
        while let line = lines.nextLine() {
            try decoded.append(contentsOf: Self.decode(line: line))
        }
        return decoded
    }

    mutating func finish() throws -> [Element] {
        try lines.finish().map(Self.decode(line:)) ?? []
    }

    private static func decode(line: String) throws -> [Element] {
        guard !line.allSatisfy(\.isWhitespace) else { return [] }
        do {
            return [try JSONDecoder().decode(Element.self, from: Data(line.utf8))]
        } catch {
            throw DockerError.badResponse(
                "the engine sent a line that is not the expected JSON (\(error)): \(line)")
        }
    }
}
