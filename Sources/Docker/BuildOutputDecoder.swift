import NIOCore

/// What a build reports, from the engine's `/build` answer.
enum BuildEvent: Equatable, Sendable {
    /// A line of output for people (a step, a command's output, a status, an error).
    case output(String)
    /// The build failed, with the engine's reason.
    case failed(String)
    /// The build produced this image id (`sha256:...`).
    case built(imageID: String)
    /// A step committed a new layer, an image of its own (its short id): not one the cache
    /// gave. The layers of a build that fails are nameless images nothing removes.
    case committedLayer(String)
}

/// Decodes the JSON lines of a `/build` answer into ``BuildEvent``s. The text of `stream`
/// messages is cut into lines again, since a command's output arrives in arbitrary pieces.
struct BuildOutputDecoder: ResponseStreamDecoder {
    /// One JSON line of the answer.
    struct Message: Decodable, Sendable {
        struct ErrorDetail: Decodable, Sendable { var message: String? }
        struct Aux: Decodable, Sendable {
            var id: String?
            enum CodingKeys: String, CodingKey { case id = "ID" }
        }

        var stream: String?
        var status: String?
        var id: String?
        var progress: String?
        var error: String?
        var errorDetail: ErrorDetail?
        var aux: Aux?
    }

    private var messages = JSONLinesDecoder<Message>()
    /// Build output, cut in lines of at most 64 KiB (a step that prints without newlines
    /// would otherwise pile up here).
    private var streamText = LineSplitter(maxLineBytes: 64 << 10)
    /// The last step announced a layer from the cache (`---> Using cache`).
    private var layerFromCache = false

    mutating func decode(_ chunk: ByteBuffer) throws -> [BuildEvent] {
        try messages.decode(chunk).flatMap { events(for: $0) }
    }

    mutating func finish() throws -> [BuildEvent] {
        var decoded = try messages.finish().flatMap { events(for: $0) }
        if let rest = streamText.finish() {
            decoded.append(.output(rest))
        }
        return decoded
    }

    private mutating func events(for message: Message) -> [BuildEvent] {
        var events: [BuildEvent] = []
        if let stream = message.stream {
            streamText.append(ByteBuffer(string: stream))
            while let line = streamText.nextLine() {
                events.append(.output(line))
                if let layer = committedLayer(in: line) { events.append(.committedLayer(layer)) }
            }
        } else if let unterminated = streamText.finish() {
            events.append(.output(unterminated))
        }
        if let status = message.status {
            let parts = [message.id, status, message.progress].compactMap { $0 }
            events.append(.output(parts.joined(separator: " ")))
        }
        if let error = message.error ?? message.errorDetail?.message {
            events.append(.output(error))
            events.append(.failed(message.errorDetail?.message ?? error))
        }
        if let imageID = message.aux?.id {
            events.append(.built(imageID: imageID))
        }
        return events
    }

    /// The layer a step's ` ---> <12 hex digits>` line names, unless the line before said it
    /// came from the cache (as the legacy builder prints them).
    private mutating func committedLayer(in line: String) -> String? {
        guard line.hasPrefix(" ---> ") else { return nil }
        let rest = line.dropFirst(6)
        if rest == "Using cache" {
            layerFromCache = true
            return nil
        }
        defer { layerFromCache = false }
        guard rest.count == 12, rest.allSatisfy(\.isHexDigit), !layerFromCache else { return nil }
        return String(rest)
    }
}
