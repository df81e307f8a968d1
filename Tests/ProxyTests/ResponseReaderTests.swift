import NIOCore
import Testing

@testable import Proxy

/// The upstream response reader on its own: heads split anywhere, bare LFs, every framing.
@Suite("Response reader")
struct ResponseReaderTests {
    /// Feeds `response` in pieces of `readSize` bytes and collects the events: heads as their
    /// status codes, body bytes joined, ends counted.
    private func read(
        _ response: String, readSize: Int, toHEAD: Bool = false, dechunks: Bool = false
    ) throws -> (statuses: [Int], framings: [ResponseFraming], body: String, ends: Int) {
        var reader = ResponseReader()
        reader.expectResponse(toHEAD: toHEAD, dechunksBody: dechunks)
        var statuses: [Int] = []
        var framings: [ResponseFraming] = []
        var body = ""
        var ends = 0
        let bytes = Array(response.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + readSize, bytes.count)
            reader.feed(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            while let event = try reader.next() {
                switch event {
                case .informational(let head): statuses.append(head.status)
                case .head(let head, let framing):
                    statuses.append(head.status)
                    framings.append(framing)
                case .body(let buffer): body += String(buffer: buffer)
                case .end: ends += 1
                }
            }
        }
        return (statuses, framings, body, ends)
    }

    @Test("A bare-LF 100 Continue, a bare-LF head and a length-framed body, whole and byte by byte")
    func bareLineFeedsAndLength() throws {
        let response = "HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 10\nX-App: cgi\n\nbody\nmore\n"
        for readSize in [response.utf8.count, 1, 7] {
            let result = try read(response, readSize: readSize)
            #expect(result.statuses == [100, 200], "read size \(readSize)")
            #expect(result.framings == [.length])
            #expect(result.body == "body\nmore\n")
            #expect(result.ends == 1)
        }
    }

    @Test("A chunked body passes as it is, or as data only for HTTP/1.0 clients, trailers included")
    func chunked() throws {
        let body = "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n"
        let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body
        for readSize in [response.utf8.count, 1, 5] {
            let raw = try read(response, readSize: readSize)
            #expect(raw.framings == [.chunked])
            #expect(raw.body == body, "read size \(readSize)")
            #expect(raw.ends == 1)
            let data = try read(response, readSize: readSize, dechunks: true)
            #expect(data.body == "Wikipedia in\r\n\r\nchunks.", "read size \(readSize)")
            #expect(data.ends == 1)
        }
    }

    @Test("HEAD, 204 and 304 have no body whatever they announce; no framing means until close")
    func bodilessAndUntilClose() throws {
        let head = try read("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", readSize: 3, toHEAD: true)
        #expect(head.framings == [.bodiless])
        #expect(head.ends == 1)
        let noContent = try read("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", readSize: 100)
        #expect(noContent.framings == [.bodiless])
        #expect(noContent.ends == 1)

        var reader = ResponseReader()
        reader.expectResponse(toHEAD: false, dechunksBody: false)
        reader.feed(ByteBuffer(string: "HTTP/1.0 200 OK\r\n\r\nuntil the end"))
        guard case .head(let untilClose, .untilClose)? = try reader.next() else {
            Issue.record("expected a head delimited by closing")
            return
        }
        #expect(!untilClose.keepsConnection, "an HTTP/1.0 upstream without keep-alive closes")
        guard case .body(let bytes)? = try reader.next() else {
            Issue.record("expected body bytes")
            return
        }
        #expect(String(buffer: bytes) == "until the end")
        #expect(try reader.next() == nil)
        guard case .end? = try reader.inputClosed() else {
            Issue.record("closing ends the body")
            return
        }
    }

    @Test("Broken responses are refused: bad status line, conflicting lengths, bad chunk, stray bytes, cut body")
    func refusals() throws {
        for response in [
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            // Forwarded as it came, a bare-LF chunk line would be framed otherwise in front.
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
            "HTTP/1.1 200 OK\r\nContent\rLength: 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n",
            "HTTP/1.1 200 O\rK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\u{0}b\r\n\r\n",
        ] {
            #expect(throws: (any Error).self, "\(response)") { _ = try read(response, readSize: 4) }
        }
        var idle = ResponseReader()
        idle.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"))
        #expect(throws: ResponseReader.ProtocolError.self) { _ = try idle.next() }

        var cut = ResponseReader()
        cut.expectResponse(toHEAD: false, dechunksBody: false)
        cut.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
        while try cut.next() != nil {}
        #expect(throws: ResponseReader.ProtocolError.self) { _ = try cut.inputClosed() }
    }

    @Test("The client head drops hop-by-hop fields and those Connection names, and keeps the rest as sent")
    func clientHead() throws {
        let raw = """
            HTTP/1.1 200 OK\r
            Connection: keep-alive, X-Secret\r
            Keep-Alive: timeout=5\r
            X-Secret: 1\r
            Content-Length: 2\r
            X-App:  kept as sent \r
            \r

            """
        var reader = ResponseReader()
        reader.expectResponse(toHEAD: false, dechunksBody: false)
        reader.feed(ByteBuffer(string: raw))
        guard case .head(let head, let framing)? = try reader.next() else {
            Issue.record("expected a head")
            return
        }
        var keepAlive = true
        var out = ByteBuffer()
        let chunks = HeaderRewriting.writeClientResponseHead(
            head, framing: framing, clientVersion: .http1_1, keepAlive: &keepAlive, into: &out
        )
        #expect(!chunks)
        #expect(String(buffer: out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-App:  kept as sent \r\n\r\n")

        var keepAliveOld = true
        var oldClient = ByteBuffer()
        HeaderRewriting.writeClientResponseHead(
            head, framing: framing, clientVersion: .http1_0, keepAlive: &keepAliveOld, into: &oldClient
        )
        #expect(String(buffer: oldClient).hasSuffix("connection: keep-alive\r\n\r\n"))
    }

    @Test("Repeats of one Content-Length reach the client as one field")
    func repeatedLength() throws {
        var reader = ResponseReader()
        reader.expectResponse(toHEAD: false, dechunksBody: false)
        reader.feed(
            ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nContent-Length: 05\r\n\r\nhello"))
        guard case .head(let head, let framing)? = try reader.next() else {
            Issue.record("expected a head")
            return
        }
        var keepAlive = true
        var out = ByteBuffer()
        HeaderRewriting.writeClientResponseHead(
            head, framing: framing, clientVersion: .http1_1, keepAlive: &keepAlive, into: &out)
        #expect(String(buffer: out) == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n")
    }

    @Test("A status line without a reason keeps its space; a body ended by the close drops the upstream's length")
    func framingFixes() throws {
        var reader = ResponseReader()
        reader.expectResponse(toHEAD: false, dechunksBody: false)
        reader.feed(ByteBuffer(string: "HTTP/1.1 200\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"))
        guard case .head(let head, let framing)? = try reader.next() else {
            Issue.record("expected a head")
            return
        }
        #expect(framing == .untilClose, "a transfer coding other than chunked ends with the connection")
        var keepAlive = true
        var out = ByteBuffer()
        let chunks = HeaderRewriting.writeClientResponseHead(
            head, framing: framing, clientVersion: .http1_1, keepAlive: &keepAlive, into: &out
        )
        #expect(!chunks, "chunking it would apply chunked twice to `chunked, gzip`")
        #expect(!keepAlive)
        #expect(String(buffer: out) == "HTTP/1.1 200 \r\nTransfer-Encoding: gzip\r\nconnection: close\r\n\r\n")
    }

    @Test("Stray CRLFs before a response head are skipped")
    func leadingEmptyLines() throws {
        let result = try read("\r\nHTTP/1.1 204 No Content\r\n\r\n", readSize: 1)
        #expect(result.statuses == [204])
        #expect(result.ends == 1)
    }

    private struct NoHead: Error {}

    /// Reads the head of `raw` (a response to a GET) and writes it for an HTTP/1.1 client.
    private func rewrittenHead(_ raw: String) throws -> (head: ResponseHead, written: String) {
        var reader = ResponseReader()
        reader.expectResponse(toHEAD: false, dechunksBody: false)
        reader.feed(ByteBuffer(string: raw))
        guard case .head(let head, let framing)? = try reader.next() else {
            throw NoHead()
        }
        var keepAlive = true
        var out = ByteBuffer()
        HeaderRewriting.writeClientResponseHead(
            head, framing: framing, clientVersion: .http1_1, keepAlive: &keepAlive, into: &out
        )
        return (head, String(buffer: out))
    }

    @Test("Field lines pass in runs; many hop-by-hop fields and bare LFs give the same client head")
    func manyNotableFields() throws {
        // Twelve hop-by-hop fields between the kept ones: more than are remembered inline.
        var lines = ["HTTP/1.1 200 OK", "Server: a"]
        for index in 0..<12 {
            lines += ["Keep-Alive: timeout=\(index)", "X-Kept-\(index): \(index)"]
        }
        lines += ["Content-Length: 0", "", ""]
        let kept = ["Server: a"] + (0..<12).map { "X-Kept-\($0): \($0)" } + ["Content-Length: 0"]
        let expected = "HTTP/1.1 200 OK\r\n" + kept.map { $0 + "\r\n" }.joined() + "\r\n"
        for lineEnd in ["\r\n", "\n"] {
            let (_, written) = try rewrittenHead(lines.joined(separator: lineEnd))
            #expect(written == expected, "line end \(lineEnd.debugDescription)")
        }
    }

    @Test("A head of many short bare-LF lines grows by their CRLFs and is written whole")
    func manyBareLineFeeds() throws {
        // 3,998 bytes: with room for the head plus a little, the buffer would be 4 KiB, and the
        // 997 CRs added would not fit.
        let lines = ["HTTP/1.1 204"] + (0..<996).map { "x:\($0 % 10)" } + ["", ""]
        let (_, written) = try rewrittenHead(lines.joined(separator: "\n"))
        let expected = "HTTP/1.1 204 \r\n" + (0..<996).map { "x:\($0 % 10)\r\n" }.joined() + "\r\n"
        #expect(written == expected)
    }

    @Test("With few notable fields, the lines around a dropped one are copied in runs, status line included")
    func runsAroundDroppedFields() throws {
        let raw =
            "HTTP/1.1 200 OK\r\nServer: a\r\nKeep-Alive: timeout=5\r\nDate: b\r\nContent-Length: 2\r\n"
            + "Connection: keep-alive\r\nETag: \"c\"\r\n\r\nok"
        let (head, written) = try rewrittenHead(raw)
        #expect(head.fields.copiesRuns)
        #expect(written == "HTTP/1.1 200 OK\r\nServer: a\r\nDate: b\r\nContent-Length: 2\r\nETag: \"c\"\r\n\r\n")
    }
}
