import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing

@testable import Proxy

@Suite("HTTPS: TLS termination, certificates by SNI, redirects, reloads")
struct TLSTests {
    /// `aaa-default` (`default.test`, 127.0.0.1) sorts first, so it is the default; `apps`
    /// covers `*.apps.test` and `apps.test`; `live-site` is in certbot's layout.
    private static func makeCertificates() throws -> TestCertificates {
        let certificates = try TestCertificates()
        try certificates.add("aaa-default", hosts: ["default.test"], addresses: ["127.0.0.1"])
        try certificates.add("apps", hosts: ["*.apps.test", "apps.test"])
        try certificates.add("shop", hosts: ["shop.example"])
        try certificates.add("live-site", hosts: ["certbot.example"], layout: .certbot)
        return certificates
    }

    /// Runs a proxy with an HTTPS listener serving `certificates`, routing `web.apps.test`,
    /// `shop.example` and `ws.localhost` to `upstream`; `body` gets the plain and HTTPS ports.
    private static func withTLSProxy(
        _ certificates: TestCertificates,
        upstream: TestUpstream,
        redirectsHTTP: Bool = false,
        trustedProxies: Set<String> = [],
        reloadInterval: Duration = .seconds(10),
        _ body: (_ plainPort: Int, _ tlsPort: Int) async throws -> Void
    ) async throws {
        let tls = ProxyConfiguration.TLS(
            certificates: try CertificateStore(folder: certificates.folder), redirectsHTTP: redirectsHTTP,
            reloadInterval: reloadInterval)
        let configuration = ProxyConfiguration(trustedProxies: trustedProxies, accessLog: false, tls: tls)
        let routes = RouteTable(
            apps: ["ws": [upstream.upstream]],
            staticRoutes: [
                "web.apps.test": [upstream.upstream], "shop.example": [upstream.upstream],
                "uncovered.example": [upstream.upstream],
            ])
        try await withProxy(configuration, routes: routes) { server, port in
            let tlsPort = try #require(try await server.boundTLSPort())
            try await body(port, tlsPort)
        }
    }

    /// Whether a TLS handshake asking for `serverName` gets certificate `expected`, and a
    /// request over it an answer from the app.
    private static func serves(
        _ expected: NIOSSLCertificate, for serverName: String?, port: Int, maximumVersion: TLSVersion? = nil,
        cipherSuites: String? = nil
    ) async -> Bool {
        do {
            let client = TLSClient(
                serverName: serverName, expecting: expected, maximumVersion: maximumVersion, cipherSuites: cipherSuites)
            let connection = try await RawConnection.connect(port: port, tls: client)
            let answer = try await connection.exchange(
                "GET /echo HTTP/1.1\r\nHost: web.apps.test\r\nConnection: close\r\n\r\n")
            return answer.received.hasPrefix("HTTP/1.1 200")
        } catch {
            return false
        }
    }

    @Test("Each handshake gets the certificate covering the name asked for; others get the first by name")
    func certificateBySNI() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        // Beside the wildcard, a certificate for one of its names; two for another name, the
        // one sorting first expiring sooner (an old certbot lineage beside its successor).
        try certificates.add("www", hosts: ["www.apps.test"])
        try certificates.add("renewed-a", hosts: ["renewed.test"], days: 5)
        try certificates.add("renewed-b", hosts: ["renewed.test"], days: 60)
        let fallback = try certificates.certificate("aaa-default")
        let apps = try certificates.certificate("apps")
        let shop = try certificates.certificate("shop")
        let certbot = try certificates.certificate("live-site", .certbot)
        try await withUpstreams(["app"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0]) { _, tlsPort in
                for (name, expected) in [
                    ("web.apps.test", apps), ("apps.test", apps), ("shop.example", shop), ("SHOP.Example.", shop),
                    ("certbot.example", certbot), ("www.apps.test", try certificates.certificate("www")),
                    ("renewed.test", try certificates.certificate("renewed-b")),
                    // A wildcard covers one label; names no certificate covers get the first.
                    ("deep.web.apps.test", fallback), ("other.test", fallback), (nil, fallback),
                ] as [(String?, NIOSSLCertificate)] {
                    #expect(await Self.serves(expected, for: name, port: tlsPort), "\(name ?? "no SNI")")
                }
                // The check can fail: shop.example does not get the default certificate.
                #expect(!(await Self.serves(fallback, for: "shop.example", port: tlsPort)))
                #expect(!(await Self.serves(shop, for: "web.apps.test", port: tlsPort)))
                // TLS 1.2 at least: a client that goes no higher than 1.1 gets no handshake.
                #expect(await Self.serves(apps, for: "web.apps.test", port: tlsPort, maximumVersion: .tlsv12))
                #expect(!(await Self.serves(apps, for: "web.apps.test", port: tlsPort, maximumVersion: .tlsv11)))
                // TLS 1.2 with forward secrecy and AEAD only (Mozilla's "intermediate").
                for (suite, accepted) in [("ECDHE-ECDSA-AES128-GCM-SHA256", true), ("ECDHE-ECDSA-AES128-SHA", false)] {
                    let served = await Self.serves(
                        apps, for: "web.apps.test", port: tlsPort, maximumVersion: .tlsv12, cipherSuites: suite)
                    #expect(served == accepted, "\(suite)")
                }
                // Plain HTTP to the HTTPS port is told so.
                let plain = try await RawConnection.connect(port: tlsPort).exchange(
                    "GET / HTTP/1.1\r\nHost: web.apps.test\r\n\r\n")
                #expect(plain.received.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(plain.received)")
                #expect(plain.received.hasSuffix("plain HTTP was sent to the HTTPS port: use an https:// URL\n"))
            }
        }
    }

    @Test(
        "A connection that never completes its TLS handshake is closed (within the idle timeout, at most 10 s); plain HTTP is counted"
    )
    func handshakeTimeout() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        try await withUpstreams(["app"]) { upstreams in
            let tls = ProxyConfiguration.TLS(certificates: try CertificateStore(folder: certificates.folder))
            let configuration = ProxyConfiguration(idleTimeout: .seconds(2), accessLog: false, tls: tls)
            try await withProxy(configuration, routes: RouteTable()) { server, _ in
                let tlsPort = try #require(try await server.boundTLSPort())
                let started = ContinuousClock.now
                // Plain TCP: no ClientHello ever comes.
                let silent = try await RawConnection.connect(port: tlsPort).exchange(nil)
                #expect(silent.closed)
                let waited = ContinuousClock.now - started
                #expect(waited >= .milliseconds(1500) && waited < .seconds(8), "\(waited)")
                // Plain HTTP to the HTTPS port counts as a request that matched no route.
                _ = try await RawConnection.connect(port: tlsPort).exchange("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
                #expect(await server.statistics().unrouted.clientError == 1)
            }
        }
    }

    @Test("curl over HTTPS reaches the app, which learns the scheme and port; plain HTTP says http")
    func forwardedScheme() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        try await withUpstreams(["app"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0]) { plainPort, tlsPort in
                let secure = try Self.curl([
                    "--cacert", certificates.files("apps").chain,
                    "--resolve", "web.apps.test:\(tlsPort):127.0.0.1", "https://web.apps.test:\(tlsPort)/echo",
                ])
                #expect(secure.contains("x-forwarded-proto: https\n"), "\(secure)")
                #expect(secure.contains("x-forwarded-port: \(tlsPort)\n"), "\(secure)")
                #expect(secure.contains("x-forwarded-for: 127.0.0.1\n"), "\(secure)")
                #expect(secure.contains("host: web.apps.test:\(tlsPort)\n"), "\(secure)")
                let plain = try Self.curl(["-H", "Host: web.apps.test", "http://127.0.0.1:\(plainPort)/echo"])
                #expect(plain.contains("x-forwarded-proto: http\n"), "\(plain)")
                #expect(plain.contains("x-forwarded-port: \(plainPort)\n"), "\(plain)")
                // A name the certificate does not cover fails curl's check: no fallback to plain.
                #expect(throws: (any Error).self) {
                    try Self.curl([
                        "--cacert", certificates.files("shop").chain,
                        "--resolve", "web.apps.test:\(tlsPort):127.0.0.1", "https://web.apps.test:\(tlsPort)/echo",
                    ])
                }
            }
        }
    }

    @Test("A trusted proxy's scheme and port are kept, and ours not added beside them")
    func trustedScheme() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        try await withUpstreams(["app"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0], trustedProxies: ["127.0.0.1"]) {
                plainPort, _ in
                let answer = try Self.curl([
                    "-H", "Host: web.apps.test", "-H", "X-Forwarded-Proto: https", "-H", "X-Forwarded-Port: 443",
                    "http://127.0.0.1:\(plainPort)/echo",
                ])
                #expect(answer.contains("x-forwarded-proto: https\n"), "\(answer)")
                #expect(answer.contains("x-forwarded-port: 443\n"), "\(answer)")
                #expect(!answer.contains("x-forwarded-port: \(plainPort)"), "\(answer)")
                #expect(!answer.contains("x-forwarded-proto: http\n"), "\(answer)")
            }
        }
    }

    @Test("Keep-alive and large bodies both ways over HTTPS (AsyncHTTPClient)")
    func keepAliveAndBodies() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try certificates.certificate("aaa-default")])
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { _ = client.shutdown() }
        try await withUpstreams(["app"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0]) { _, tlsPort in
                // No SNI for an address: the default certificate, which covers 127.0.0.1.
                let base = "https://127.0.0.1:\(tlsPort)"
                for _ in 0..<20 {
                    var request = HTTPClientRequest(url: base + "/echo")
                    request.headers.add(name: "host", value: "web.apps.test")
                    let response = try await client.execute(request, timeout: .seconds(30))
                    #expect(response.status == .ok)
                    _ = try await response.body.collect(upTo: 1 << 20)
                }
                #expect(upstreams[0].acceptedConnections == 1)

                let size = 16 << 20
                var download = HTTPClientRequest(url: base + "/download/\(size)")
                download.headers.add(name: "host", value: "web.apps.test")
                let downloaded = try await client.execute(download, timeout: .seconds(60))
                var received = 0
                for try await chunk in downloaded.body { received += chunk.readableBytes }
                #expect(received == size)

                var upload = HTTPClientRequest(url: base + "/upload")
                upload.method = .POST
                upload.headers.add(name: "host", value: "web.apps.test")
                upload.body = .bytes(ByteBuffer(repeating: 0x61, count: size))
                let uploaded = try await client.execute(upload, timeout: .seconds(60))
                #expect(String(buffer: try await uploaded.body.collect(upTo: 1024)) == "received \(size)")
            }
        }
    }

    @Test("A WebSocket-style upgrade over HTTPS becomes a tunnel; half-close passed on")
    func upgradeOverTLS() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        let fallback = try certificates.certificate("aaa-default")
        try await withUpstreams(["ws"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0]) { _, tlsPort in
                let connection = try await RawConnection.connect(
                    port: tlsPort, tls: TLSClient(serverName: "ws.localhost", expecting: fallback))
                try await connection.channel.executeThenClose { inbound, outbound throws in
                    var reader = inbound.makeAsyncIterator()
                    #expect(try await UpgradeAndLimitsTests.upgrade(outbound, &reader).hasPrefix("HTTP/1.1 101"))
                    for message in ["ping-1", String(repeating: "x", count: 100_000)] {
                        #expect(try await UpgradeAndLimitsTests.echo(message, outbound, &reader) == message)
                    }
                    outbound.finish()  // close_notify, then the echo server half-closes back
                    #expect(try await reader.next() == nil)
                }
            }
        }
    }

    @Test("With redirects on, plain HTTP for an app gets 308 to the same URL over HTTPS")
    func redirect() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        try await withUpstreams(["app"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0], redirectsHTTP: true) {
                plainPort, tlsPort in
                let moved = try await RawConnection.connect(port: plainPort).exchange(
                    "POST /a/b?c=1 HTTP/1.1\r\nHost: Web.Apps.Test:80\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                #expect(moved.received.hasPrefix("HTTP/1.1 308 Permanent Redirect\r\n"), "\(moved.received)")
                #expect(moved.received.contains("location: https://web.apps.test:\(tlsPort)/a/b?c=1\r\n"))
                let unknown = try await RawConnection.connect(port: plainPort).exchange(
                    "GET / HTTP/1.1\r\nHost: nobody.test\r\nConnection: close\r\n\r\n")
                #expect(unknown.received.hasPrefix("HTTP/1.1 404"))
                // A host no certificate covers stays on HTTP: HTTPS could not serve it.
                let uncovered = try await RawConnection.connect(port: plainPort).exchange(
                    "GET /echo HTTP/1.1\r\nHost: uncovered.example\r\nConnection: close\r\n\r\n")
                #expect(uncovered.received.hasPrefix("HTTP/1.1 200"), "\(uncovered.received)")
                // Kept alive: each request on the connection is answered so.
                let kept = try await RawConnection.connect(port: plainPort)
                try await kept.session { exchange in
                    for path in ["/one", "/two"] {
                        let answer = try await exchange("GET \(path) HTTP/1.1\r\nHost: shop.example\r\n\r\n") {
                            $0.contains("\r\n\r\n") && $0.hasSuffix("\n") && $0.contains("moved to")
                        }
                        #expect(answer.contains("location: https://shop.example:\(tlsPort)\(path)\r\n"), "\(answer)")
                    }
                }
                // curl follows it to the app over HTTPS.
                let followed = try Self.curl([
                    "-L", "--cacert", certificates.files("apps").chain,
                    "--resolve", "web.apps.test:\(plainPort):127.0.0.1",
                    "--resolve", "web.apps.test:\(tlsPort):127.0.0.1", "http://web.apps.test:\(plainPort)/echo",
                ])
                #expect(followed.contains("x-forwarded-proto: https\n"), "\(followed)")
            }
            // A proxy in front, trusted, may have terminated TLS: its requests pass.
            try await Self.withTLSProxy(
                certificates, upstream: upstreams[0], redirectsHTTP: true, trustedProxies: ["127.0.0.1"]
            ) { plainPort, _ in
                let passed = try Self.curl(["-H", "Host: web.apps.test", "http://127.0.0.1:\(plainPort)/echo"])
                #expect(passed.contains("target: /echo\n"), "\(passed)")
            }
        }
    }

    @Test("A renewed certificate is served without a restart; a broken renewal keeps the last good one")
    func reload() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        let old = try certificates.certificate("shop")
        try await withUpstreams(["app"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0], reloadInterval: .milliseconds(100)) {
                _, tlsPort in
                #expect(await Self.serves(old, for: "shop.example", port: tlsPort))
                try certificates.add("shop", hosts: ["shop.example"])
                let renewed = try certificates.certificate("shop")
                #expect(renewed != old)
                try await waitFor { await Self.serves(renewed, for: "shop.example", port: tlsPort) }
                #expect(!(await Self.serves(old, for: "shop.example", port: tlsPort)))

                try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: certificates.files("shop").chain))
                try await Task.sleep(for: .milliseconds(500))
                #expect(await Self.serves(renewed, for: "shop.example", port: tlsPort))
                // A good renewal after the broken one is taken.
                try certificates.add("shop", hosts: ["shop.example"])
                let third = try certificates.certificate("shop")
                try await waitFor { await Self.serves(third, for: "shop.example", port: tlsPort) }
                // One broken certificate (a chain without its key) does not hold back another's renewal.
                try FileManager.default.copyItem(
                    atPath: certificates.files("shop").chain, toPath: certificates.folder + "/zz-broken.crt")
                try certificates.add("shop", hosts: ["shop.example"])
                let fourth = try certificates.certificate("shop")
                try await waitFor { await Self.serves(fourth, for: "shop.example", port: tlsPort) }
            }
        }
    }

    @Test("certbot renews by pointing live/ links at new archive files; the proxy follows them")
    func certbotRenewal() async throws {
        let certificates = try Self.makeCertificates()
        defer { certificates.remove() }
        // certbot's layout: live/site/{fullchain,privkey}.pem link to archive/site/*N.pem.
        let archive = try TestCertificates()
        defer { archive.remove() }
        let files = FileManager.default
        func renew(_ number: Int) throws -> NIOSSLCertificate {
            try archive.add("site\(number)", hosts: ["site.example"])
            let live = certificates.folder + "/site"
            try files.createDirectory(atPath: live, withIntermediateDirectories: true)
            for (link, target) in [
                ("fullchain.pem", archive.files("site\(number)").chain),
                ("privkey.pem", archive.files("site\(number)").key),
            ] {
                try? files.removeItem(atPath: live + "/" + link)
                try files.createSymbolicLink(atPath: live + "/" + link, withDestinationPath: target)
            }
            return try archive.certificate("site\(number)")
        }
        let first = try renew(1)
        try await withUpstreams(["app"]) { upstreams in
            try await Self.withTLSProxy(certificates, upstream: upstreams[0], reloadInterval: .milliseconds(100)) {
                _, tlsPort in
                #expect(await Self.serves(first, for: "site.example", port: tlsPort))
                // In the middle of a renewal (one link removed, not made again yet) the last good one serves.
                try files.removeItem(atPath: certificates.folder + "/site/fullchain.pem")
                try await Task.sleep(for: .milliseconds(400))
                #expect(await Self.serves(first, for: "site.example", port: tlsPort))
                let second = try renew(2)
                try await waitFor { await Self.serves(second, for: "site.example", port: tlsPort) }
            }
        }
    }

    @Test("A certificate folder that cannot be served says what to fix")
    func folderErrors() throws {
        func error(_ prepare: (TestCertificates) throws -> Void) throws -> String {
            let certificates = try TestCertificates()
            defer { certificates.remove() }
            try prepare(certificates)
            do {
                _ = try CertificateStore(folder: certificates.folder)
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        #expect(try error { _ in }.contains("no certificate in"))
        #expect(try error { try FileManager.default.removeItem(atPath: $0.folder) }.contains("cannot read"))
        #expect(
            try error {
                try $0.add("a", hosts: ["a.test"])
                try FileManager.default.removeItem(atPath: $0.files("a").key)
            }.contains("a.crt has no key beside it: put its private key in"))
        #expect(
            try error {
                try $0.add("a", hosts: ["a.test"])
                try $0.add("b", hosts: ["b.test"])
                try FileManager.default.removeItem(atPath: $0.files("a").key)
                try FileManager.default.copyItem(atPath: $0.files("b").key, toPath: $0.files("a").key)
            }.contains("/a.crt cannot be served together; is the key the first certificate's?"))
        #expect(try error { try $0.add("a", hosts: []) }.contains("names no host"))
        #expect(
            try error {
                try $0.add("a", hosts: ["a.test"])
                try Data("junk".utf8).write(to: URL(fileURLWithPath: $0.files("a").chain))
            }.contains("a.crt is not a PEM certificate chain"))
        #expect(try error { try $0.add("a", hosts: ["a.test"]) } == "loaded")
        #expect(try error { try $0.add("a", hosts: [], addresses: ["127.0.0.1"]) } == "loaded")
    }

    /// Runs the real curl (no shell), failing on a transport error or an HTTP status ≥ 400;
    /// returns the body.
    @discardableResult
    private static func curl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "--fail", "--max-time", "20"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let body = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(
                .fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "curl exited \(process.terminationStatus)"])
        }
        return String(decoding: body, as: UTF8.self)
    }
}
