import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

@Suite("Streaming and framing")
struct StreamingTests {
    @Test("2 GiB up and 2 GiB down stream through with flat memory")
    func largeBodies() async throws {
        let size = 2 * 1024 * 1024 * 1024
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                try await withHTTPClient { client in
                    let rssBefore = try residentSetBytes()

                    var upload = HTTPClientRequest(url: "http://127.0.0.1:\(port)/upload")
                    upload.method = .POST
                    upload.headers.replaceOrAdd(name: "host", value: "app.localhost")
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "u"), count: 256 * 1024)
                    let chunks = size / chunk.readableBytes
                    upload.body = .stream(Chunks(Array(repeating: chunk, count: chunks)), length: .known(Int64(size)))
                    let uploaded = try await client.execute(upload, timeout: .seconds(600))
                    #expect(String(buffer: try await uploaded.body.collect(upTo: 1024)) == "received \(size)")

                    var download = HTTPClientRequest(url: "http://127.0.0.1:\(port)/download/\(size)")
                    download.headers.replaceOrAdd(name: "host", value: "app.localhost")
                    let downloaded = try await client.execute(download, timeout: .seconds(600))
                    var bytes = 0
                    for try await part in downloaded.body {
                        bytes += part.readableBytes
                    }
                    #expect(bytes == size)

                    let growth = try residentSetBytes() - rssBefore
                    #expect(growth < 64 * 1024 * 1024, "RSS grew by \(growth / 1024 / 1024) MiB")
                }
            }
        }
    }

    @Test("Chunked responses and chunked uploads pass through")
    func chunked() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                try await withHTTPClient { client in
                    let response = try await client.get("/chunked", host: "app.localhost", port: port)
                    #expect(response.body == "first,second,third")
                    #expect(response.headers.first(name: "transfer-encoding") == "chunked")

                    var upload = HTTPClientRequest(url: "http://127.0.0.1:\(port)/upload")
                    upload.method = .POST
                    upload.headers.replaceOrAdd(name: "host", value: "app.localhost")
                    upload.body = .stream(Chunks(["a", "bb", "ccc"].map { ByteBuffer(string: $0) }), length: .unknown)
                    let uploaded = try await client.execute(upload, timeout: .seconds(10))
                    #expect(String(buffer: try await uploaded.body.collect(upTo: 1024)) == "received 6")
                }
            }
            #expect(upstreams[0].acceptedConnections == 1)
        }
    }

    @Test("HEAD, 204 and 304 carry no body and keep the connections usable")
    func bodilessFraming() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let request =
                    "HEAD /hello HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                    + "GET /status/204 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                    + "GET /status/304 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                    + "GET /hello HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n"
                let connection = try await RawConnection.connect(port: port)
                let (received, closed) = try await connection.exchange(request)
                #expect(closed)
                let responses = received.split(separator: "HTTP/1.1 ", omittingEmptySubsequences: true)
                #expect(responses.count == 4)
                #expect(responses.first?.contains("content-length: 14") == true)
                #expect(responses.first?.hasSuffix("\r\n\r\n") == true)
                #expect(responses.dropFirst().first?.hasPrefix("204") == true)
                #expect(responses.dropFirst(2).first?.hasPrefix("304") == true)
                #expect(responses.last?.hasSuffix("\r\n\r\nhello from app") == true)
                #expect(!received.contains("transfer-encoding"))
            }
            #expect(upstreams[0].acceptedConnections == 1)
        }
    }

    @Test("Expect: 100-continue (curl) gets the upstream's 100 and the body through")
    func expectContinue() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let output = try runCurl([
                    "-sS", "--max-time", "10", "-H", "Host: app.localhost", "-H", "Expect: 100-continue",
                    "--data-binary", String(repeating: "x", count: 5000), "http://127.0.0.1:\(port)/upload",
                ])
                #expect(output == "received 5000")
            }
        }
    }
}

/// Runs curl with `arguments` (no shell) and returns its standard output.
func runCurl(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// The test process's resident set size, from /proc.
func residentSetBytes() throws -> Int {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return kilobytes * 1024
}

/// Body parts produced one at a time, as a streaming upload wants them.
struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]

    init(_ chunks: [ByteBuffer]) { self.chunks = chunks }

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { remaining.popFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: chunks[...]) }
}
