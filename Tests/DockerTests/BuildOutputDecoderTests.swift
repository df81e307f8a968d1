import NIOCore
import Testing

@testable import Docker

@Suite struct BuildOutputDecoderTests {
    private func decode(_ chunks: [String]) throws -> [BuildEvent] {
        var decoder = BuildOutputDecoder()
        return try chunks.flatMap { try decoder.decode(ByteBuffer(string: $0)) } + decoder.finish()
    }

    @Test func successfulBuild() throws {
        let answer = """
            {"stream":"Step 1/2 : FROM scratch\\n"}
            {"stream":"\\n"}
            {"stream":" ---\\u003e Running in 5f1\\n"}
            {"aux":{"ID":"sha256:abc"}}
            {"stream":"Successfully built abc\\n"}

            """
        let events = try decode([String(answer.prefix(20)), String(answer.dropFirst(20))])
        #expect(
            events == [
                .output("Step 1/2 : FROM scratch"), .output(""), .output(" ---> Running in 5f1"),
                .built(imageID: "sha256:abc"), .output("Successfully built abc"),
            ]
        )
    }

    @Test func commandOutputInPiecesIsCutIntoLines() throws {
        let events = try decode([
            #"{"stream":"first li"}"# + "\n" + #"{"stream":"ne\nsecond line\nno newline"}"# + "\n",
            #"{"status":"Downloading","id":"layer1","progress":"[==>  ]"}"#,
        ])
        #expect(
            events == [
                .output("first line"), .output("second line"), .output("no newline"),
                .output("layer1 Downloading [==>  ]"),
            ]
        )
    }

    @Test func failureInsideTheStream() throws {
        let events = try decode([
            #"{"stream":"Step 3/3 : RUN false\n"}"# + "\n"
                + #"{"errorDetail":{"code":1,"message":"The command returned a non-zero code: 1"},"#
                + #""error":"The command returned a non-zero code: 1"}"# + "\n"
        ])
        #expect(
            events == [
                .output("Step 3/3 : RUN false"),
                .output("The command returned a non-zero code: 1"),
                .failed("The command returned a non-zero code: 1"),
            ]
        )
    }

    @Test func lineThatIsNotJSONFails() {
        #expect(throws: DockerError.self) { try decode(["not json\n"]) }
    }
}
