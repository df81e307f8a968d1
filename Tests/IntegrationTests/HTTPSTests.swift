import Foundation
import Testing

/// `minid serve` with an HTTPS listener: the real engine, the real `mini`, curl over TLS.
@Suite("HTTPS through minid, end to end", .serialized)
struct HTTPSTests {
    /// A folder with a self-signed certificate for `*.apps.test` (`apps.crt`, `apps.key`).
    private func makeCertificates() async throws -> (folder: TemporaryDirectory, chain: String) {
        let certificates = try TemporaryDirectory("mini-certs")
        let chain = certificates.url.appendingPathComponent("apps.crt").path
        let made = try await run(
            URL(fileURLWithPath: "/usr/bin/openssl"),
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=apps", "-addext", "subjectAltName=DNS:*.apps.test", "-out", chain,
                "-keyout", certificates.url.appendingPathComponent("apps.key").path,
            ])
        try #require(made.status == 0, "\(made)")
        return (certificates, chain)
    }

    /// minid's options for HTTPS on `tlsPort` with `certificates`, plain HTTP redirected, apps
    /// under `apps.test` (curl takes no wildcard for a single-label domain, `*.localhost`).
    private func httpsOptions(tlsPort: Int, certificates: TemporaryDirectory) -> [String] {
        [
            "--domain", "apps.test", "--tls-port", String(tlsPort), "--tls-certs", certificates.url.path,
            "--redirect-https",
        ]
    }

    @Test("a deployed app is served over HTTPS with the folder's certificate; mini names the https URL; HTTP redirects")
    func deployedAppOverHTTPS() async throws {
        let (certificates, chain) = try await makeCertificates()
        defer { certificates.cleanup() }
        let tlsPort = try freePort()
        let options = httpsOptions(tlsPort: tlsPort, certificates: certificates)
        try await withMinid(app: "tls", extraArguments: options) { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            let deploy = try await minid.mini(["deploy", folder.path])
            #expect(deploy.status == 0, "\(deploy)")
            let host = "\(app).apps.test"
            #expect(deploy.stdout.contains("at https://\(host):\(tlsPort)"), "\(deploy.stdout)")

            let curl = URL(fileURLWithPath: "/usr/bin/curl")
            let secure = try await run(
                curl,
                [
                    "-sS", "--max-time", "10", "--cacert", chain, "--resolve", "\(host):\(tlsPort):127.0.0.1",
                    "https://\(host):\(tlsPort)/",
                ])
            #expect(secure.status == 0 && secure.stdout.contains("Hello from mini"), "\(secure)")
            let plain = try await run(
                curl,
                [
                    "-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                    "-H", "Host: \(host)", "http://127.0.0.1:\(minid.proxyPort)/page?x=1",
                ])
            #expect(plain.stdout == "308 https://\(host):\(tlsPort)/page?x=1", "\(plain)")
        }
    }

    @Test("behind a firewall that forwards 80 and 443: redirects and app URLs name the public ports")
    func publicPorts() async throws {
        let (certificates, _) = try await makeCertificates()
        defer { certificates.cleanup() }
        let tlsPort = try freePort()
        let options =
            httpsOptions(tlsPort: tlsPort, certificates: certificates) + [
                "--public-port", "80", "--tls-public-port", "443",
            ]
        try await withMinid(app: "pub", extraArguments: options) { minid, app, _ in
            #expect(minid.log().contains("apps:  http://<app>.apps.test, https://<app>.apps.test\n"), "\(minid.log())")
            let created = try await minid.mini(["apps", "create", app])
            try #require(created.status == 0, "\(created)")
            let info = try await minid.mini(["apps", "info", app, "--json"])
            #expect(info.stdout.contains(#""url":"https://\#(app).apps.test""#), "\(info)")
            let plain = try await run(
                URL(fileURLWithPath: "/usr/bin/curl"),
                [
                    "-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                    "-H", "Host: \(app).apps.test", "http://127.0.0.1:\(minid.proxyPort)/page?x=1",
                ])
            #expect(plain.stdout == "308 https://\(app).apps.test/page?x=1", "\(plain)")

            // Plain HTTP to the HTTPS port: told so, and in the access log like any request.
            let wrongScheme = try await run(
                URL(fileURLWithPath: "/usr/bin/curl"),
                ["-s", "--max-time", "10", "-w", "%{http_code}", "http://127.0.0.1:\(tlsPort)/plain-on-tls"])
            #expect(wrongScheme.stdout.hasSuffix("use an https:// URL\n400"), "\(wrongScheme)")
            try await waitUntil { minid.log().contains("path=/plain-on-tls") }
            let logged = minid.log().split(separator: "\n").first { $0.contains("path=/plain-on-tls") } ?? ""
            #expect(logged.contains("status=400") && logged.contains("method=GET"), "\(logged)")
        }
    }

    @Test("a certificate folder minid cannot serve stops the start with what to fix (exit 1)")
    func badCertificatesRefused() async throws {
        let certificates = try TemporaryDirectory("mini-certs")
        defer { certificates.cleanup() }
        try "junk\n".write(
            to: certificates.url.appendingPathComponent("site.crt"), atomically: false, encoding: .utf8)
        let data = try TemporaryDirectory()
        defer { data.cleanup() }
        for role in ["serve", "proxy"] {
            let started = try await run(
                binary("minid"),
                [
                    role, "--data-dir", data.url.path, "--tls-port", String(try freePort()),
                    "--tls-certs", certificates.url.path,
                ]
                    + (role == "serve"
                        ? ["--api-port", String(try freePort()), "--proxy-port", String(try freePort())]
                        : ["--port", String(try freePort())]),
                timeout: .seconds(20))
            #expect(
                started.status == 1 && started.stderr.contains("site.crt has no key beside it: put its private key in"),
                "\(role): \(started)")
        }
    }
}
