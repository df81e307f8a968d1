import NIOCore
import Testing

@testable import Proxy

/// The client request reader on its own: the client is untrusted, so anything the proxy and an
/// upstream could frame differently (request smuggling) is refused.
@Suite("Request reader")
struct RequestReaderTests {
    private struct Read {
        var heads: [RequestHead] = []
        var body = ""
        var ends = 0
    }

    private func read(_ bytes: String, readSize: Int = .max) throws(RequestReader.Failure) -> Read {
        var reader = RequestReader(maxHeadBytes: 1024)
        var result = Read()
        let bytes = Array(bytes.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + min(readSize, bytes.count), bytes.count)
            reader.feed(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            while let event = try reader.next() {
                switch event {
                case .head(let head): result.heads.append(head)
                case .body(let buffer): result.body += String(buffer: buffer)
                case .end: result.ends += 1
                }
            }
        }
        return result
    }

    @Test("A head's fields box is refilled once the previous head is gone, never while a head still holds it")
    func fieldsBoxReuse() throws {
        var reader = RequestReader(maxHeadBytes: 1024)
        reader.feed(
            ByteBuffer(
                string: ["a", "b", "c"].map { "GET /\($0) HTTP/1.1\r\nHost: \($0).test\r\n\r\n" }.joined()
            )
        )
        func nextHead() throws -> RequestHead {
            while let event = try reader.next() {
                if case .head(let head) = event { return head }
            }
            throw RequestReader.Failure.malformed
        }
        func host(_ head: RequestHead) -> String { head.fields.host.map(head.string) ?? "" }

        let first = try nextHead()
        var second: RequestHead? = try nextHead()
        #expect(first.fieldsBox !== second?.fieldsBox, "a held head keeps its own fields")
        // The reader keeps the second box alive, so its identifier cannot be taken over.
        let secondBox = ObjectIdentifier(try #require(second).fieldsBox)
        second = nil
        let third = try nextHead()
        #expect(ObjectIdentifier(third.fieldsBox) == secondBox, "a box nobody holds is refilled")
        #expect(host(first) == "a.test" && host(third) == "c.test")
    }

    @Test("Pipelined requests with length and chunked bodies, whole and byte by byte, bodies forwarded as sent")
    func pipelined() throws {
        let chunked = "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"
        let bytes =
            "POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\n\r\nabc"
            + "\r\nPUT /b?x=1 HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
            + "GET /c HTTP/1.0\r\nHost: app\r\nConnection: keep-alive\r\n\r\n"
        for readSize in [Int.max, 1, 7] {
            let result = try read(bytes, readSize: readSize)
            #expect(result.heads.map(\.targetString) == ["/a", "/b?x=1", "/c"], "read size \(readSize)")
            #expect(result.heads.map(\.method) == [.POST, .PUT, .GET])
            #expect(result.heads.map(\.keepAlive) == [true, true, true])
            #expect(result.heads.map(\.hasBody) == [true, true, false])
            #expect(result.body == "abc" + chunked)
            #expect(result.ends == 3)
        }
    }

    @Test("Ambiguous framing and malformed heads are refused with 400")
    func smuggling() {
        let refused = [
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
            "GET / HTTP/1.1\nHost: a\n\n",
            "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: b\u{0}c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            // No target: the method's space is the version's.
            "GET HTTP/1.1\r\n\r\n",
            "A HTTP/1.1\r\n\r\n",
            // Duplicate Content-Length, even identical; Transfer-Encoding not exactly chunked.
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n",
        ]
        let chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let refusedBodies = [
            "2;\nxx\r\n0\r\n\r\n",  // a bare LF ends no line
            "3\r\nabc\n0\r\n\r\n",
            "3;a\u{0}\rb\r\nabc\r\n0\r\n\r\n",  // control characters in an extension
            "3 \r\nabc\r\n0\r\n\r\n",  // no space after the size but before an extension
            "3 x\r\nabc\r\n0\r\n\r\n",
            "00000000000000003\r\nabc\r\n0\r\n\r\n",  // 17 digits
            "0\r\nX-Trailer: 1\n\r\n",
            "0\r\nBad Name: 1\r\n\r\n",
            "0\r\nX: a\u{1}b\r\n\r\n",
            "0\r\n\n",
            "fffffffffffffffffff\r\n",  // a size too large
            "5\r\nhelloXX0\r\n\r\n",  // data longer than its size
        ]
        for body in refusedBodies {
            #expect(throws: RequestReader.Failure.malformedBody, "\(body.debugDescription)") {
                _ = try read(chunkedHead + body)
            }
        }
        for body in ["3 \t;a=b\r\nabc\r\n0\r\n\r\n", "3;a=\"caf\u{E9}\"\r\nabc\r\n0\r\n\r\n"] {
            #expect(
                (try? read(chunkedHead + body))?.ends == 1,
                "spaces before ';' and obs-text pass: \(body.debugDescription)")
        }
        let accepted = try? read(chunkedHead + "3;name=\"quoted value\"\r\nabc\r\n0\r\nX-Trailer: ok\r\n\r\n")
        #expect(accepted?.ends == 1, "an extension and a trailer within the rules pass")
        for request in refused {
            #expect(throws: RequestReader.Failure.malformed, "\(request.debugDescription)") {
                _ = try read(request)
            }
        }
    }

    @Test("A head over the limit is refused with 431, even before it ends")
    func headTooLarge() {
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "x", count: 2000)
        #expect(throws: RequestReader.Failure.headTooLarge) { _ = try read(big) }
        #expect(throws: RequestReader.Failure.headTooLarge) { _ = try read(big + "\r\n\r\n", readSize: 100) }
    }

    @Test("Nothing after an upgrade request is parsed: those bytes belong to the tunnel")
    func upgrade() throws {
        var reader = RequestReader(maxHeadBytes: 1024)
        reader.feed(
            ByteBuffer(string: "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nframe")
        )
        guard case .head(let head)? = try reader.next() else {
            Issue.record("expected the head")
            return
        }
        #expect(head.isUpgrade)
        guard case .end? = try reader.next() else {
            Issue.record("expected the end of the request")
            return
        }
        #expect(try reader.next() == nil)
        #expect(reader.takeBufferedBytes().map { String(buffer: $0) } == "frame")
    }

    @Test("The upstream head keeps plain fields in order, in runs, however many fields are dropped around them")
    func upstreamHead() throws {
        var fields = ["Host: app.test", "Connection: keep-alive"]
        for index in 0..<10 {
            fields += ["X-Forwarded-For: 10.0.0.\(index)", "X-App-\(index): \(index)"]
        }
        let bytes = "GET /x?y=1 HTTP/1.1\r\n" + fields.map { $0 + "\r\n" }.joined() + "X-Request-Id: abc\r\n\r\n"
        let head = try #require(try read(bytes).heads.first)
        var out = ByteBuffer()
        let added = HeaderRewriting.writeUpstreamRequestHead(
            head, peer: ClientPeer(address: "192.0.2.7", isTrustedProxy: false),
            requestID: { RequestID(high: 1, low: 2) }, into: &out
        )
        let kept = ["Host: app.test"] + (0..<10).map { "X-App-\($0): \($0)" }
        let expected =
            "GET /x?y=1 HTTP/1.1\r\n" + kept.map { $0 + "\r\n" }.joined()
            + "x-forwarded-for: 192.0.2.7\r\nx-forwarded-proto: http\r\nx-forwarded-host: app.test\r\n"
            + "x-request-id: abc\r\n\r\n"
        #expect(String(buffer: out) == expected)
        #expect(added == nil, "the client's X-Request-Id is kept")
        #expect(head.requestID == "abc")
    }

    @Test(
        "A client's X-Request-Id passes once, and only if it is a short token; a new one replaces another",
        arguments: [
            (["X-Request-Id: 6f1c2a7e-9b1d-4c3e-8f00-1234567890ab"], "6f1c2a7e-9b1d-4c3e-8f00-1234567890ab"),
            (["X-Request-Id: first", "X-Request-Id: second"], "first"),
            (["X-Request-Id: fake status=200 app=admin"], nil),
            (["X-Request-Id: " + String(repeating: "a", count: 201)], nil),
            (["X-Request-Id: bad\"quote", "x-request-id: good+b64/=="], "good+b64/=="),
        ] as [([String], String?)]
    )
    func requestIDs(sent: [String], kept: String?) throws {
        let bytes = "GET / HTTP/1.1\r\nHost: app.test\r\n" + sent.map { $0 + "\r\n" }.joined() + "\r\n"
        let head = try #require(try read(bytes).heads.first)
        var out = ByteBuffer()
        let added = HeaderRewriting.writeUpstreamRequestHead(
            head, peer: ClientPeer(address: "192.0.2.7", isTrustedProxy: false),
            requestID: { RequestID(high: 1, low: 2) }, into: &out
        )
        let lines = String(buffer: out).split(separator: "\r\n").filter { $0.lowercased().hasPrefix("x-request-id:") }
        #expect(lines.count == 1, "\(lines)")
        #expect(head.requestID == kept)
        #expect((added == nil) == (kept != nil))
        if let kept { #expect(lines.first == "x-request-id: \(kept)") }
    }

    @Test(
        "What a proxy in front says passes only from a trusted one; names with _ for - never; an empty For is skipped")
    func forwardingFields() throws {
        let others = [
            "X-Forwarded-Ssl: on", "X-Real-IP: 10.9.9.9", "X-Forwarded-Port: 443", "X-Forwarded-Scheme: https",
            "Client-IP: 10.9.9.8", "X-Client-IP: 10.9.9.7", "X-Cluster-Client-IP: 10.9.9.6", "True-Client-IP: 10.9.9.5",
            "CF-Connecting-IP: 10.9.9.4", "X-Forwarded-Protocol: ssl", "Front-End-Https: on", "X-Url-Scheme: https",
            "X-Forwarded-Prefix: /admin",
        ]
        let bytes =
            "GET / HTTP/1.1\r\nHost: app.test\r\n" + others.map { $0 + "\r\n" }.joined()
            + "Content_Length: 5\r\nTransfer_Encoding: chunked\r\nX_Url_Scheme: https\r\n"
            + "X-Forwarded-For:\r\nX-Other: 1\r\nAccept-Encoding: gzip\r\n\r\n"
        let head = try #require(try read(bytes).heads.first)
        for trusted in [false, true] {
            var out = ByteBuffer()
            HeaderRewriting.writeUpstreamRequestHead(
                head, peer: ClientPeer(address: "192.0.2.7", isTrustedProxy: trusted),
                requestID: { RequestID(high: 1, low: 2) }, into: &out
            )
            let sent = String(buffer: out)
            for field in others {
                #expect(sent.contains(field + "\r\n") == trusted, "\(field), trusted \(trusted):\n\(sent)")
            }
            #expect(!sent.contains("_"), "\(sent)")
            #expect(sent.contains("X-Other: 1\r\nAccept-Encoding: gzip\r\n"))
            #expect(sent.contains("x-forwarded-for: 192.0.2.7\r\n"), "\(sent)")
        }
    }

    @Test(
        "A Host that is not a host name or address with a port of digits is refused",
        arguments: [
            ("app.test", true), ("App.Test:8080", true), ("127.0.0.1:80", true), ("[::1]:8080", true),
            ("my_app.test", true), ("", true), ("app.test:", true),
            ("app.test:1@evil.com/x", false), ("app.test/x", false), ("app test", false), ("a\\b", false),
            ("app.test:80a", false), ("[::1", false), ("[zz]", false), ("app.test:1234567", false),
        ] as [(String, Bool)]
    )
    func hostValues(host: String, accepted: Bool) {
        let bytes = "GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n"
        if accepted {
            #expect((try? read(bytes))?.heads.count == 1, "\(host)")
        } else {
            #expect(throws: RequestReader.Failure.malformed, "\(host)") { _ = try read(bytes) }
        }
    }

    @Test(
        "An absolute-form target reaches the upstream in origin form; one naming another host than Host is refused",
        arguments: [
            ("http://app.test/x?y=1", "Host: app.test", "GET /x?y=1 HTTP/1.1"),
            ("HTTP://App.Test?y=1", "Host: app.test", "GET /?y=1 HTTP/1.1"),
            ("https://app.test:8443", "Host: APP.test:8443", "GET / HTTP/1.1"),
            ("/plain", "Host: app.test", "GET /plain HTTP/1.1"),
            ("http://other.test/x", "Host: app.test", nil),
            ("http://app.test/x", "X-Other: 1", nil),
            // Other forms name a host some servers read too (Go's takes any scheme's).
            ("ws://other.test/p", "Host: app.test", nil),
            ("foo://other.test/p", "Host: app.test", nil),
            (#"http:\\other.test/p"#, "Host: app.test", nil),
            ("other.test:443", "Host: app.test", nil),
            ("*", "Host: app.test", "GET * HTTP/1.1"),
        ] as [(String, String, String?)]
    )
    func absoluteFormTarget(target: String, field: String, requestLine: String?) throws {
        let bytes = "GET \(target) HTTP/1.1\r\n\(field)\r\n\r\n"
        guard let requestLine else {
            #expect(throws: RequestReader.Failure.malformed) { try read(bytes) }
            return
        }
        let head = try #require(try read(bytes).heads.first)
        var out = ByteBuffer()
        HeaderRewriting.writeUpstreamRequestHead(
            head, peer: ClientPeer(address: "192.0.2.7", isTrustedProxy: false),
            requestID: { RequestID(high: 1, low: 2) }, into: &out
        )
        #expect(String(buffer: out).hasPrefix(requestLine + "\r\n\(field)\r\n"), "\(String(buffer: out))")
    }

    @Test("Token characters are exactly RFC 9110's tchar")
    func tokenCharacters() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HeadFields.isTokenCharacter(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }
}
