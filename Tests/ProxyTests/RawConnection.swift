import NIOCore
import NIOPosix
import NIOSSL

/// A raw TCP client for what an HTTP client library will not do: pipelining, slow heads,
/// hand-written headers, upgrades and half-closes.
struct RawConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Connects to the proxy; `receiveBuffer` shrinks the socket's receive buffer (SO_RCVBUF),
    /// for a client that takes its time; `tls` speaks TLS.
    static func connect(port: Int, receiveBuffer: Int? = nil, tls: TLSClient? = nil) async throws -> RawConnection {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        let channel =
            try await bootstrap
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        var configuration = TLSConfiguration.makeClientConfiguration()
                        configuration.trustRoots = .certificates([tls.expecting])
                        configuration.certificateVerification = .noHostnameVerification
                        if let version = tls.maximumVersion {
                            configuration.minimumTLSVersion = .tlsv1
                            configuration.maximumTLSVersion = version
                        }
                        if let cipherSuites = tls.cipherSuites {
                            configuration.cipherSuites = cipherSuites
                        }
                        let handler = try NIOSSLClientHandler(
                            context: NIOSSLContext(configuration: configuration), serverHostname: tls.serverName)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        return RawConnection(channel: channel)
    }

    /// Sends `text`, then reads until `isDone` accepts what arrived or the peer closes.
    /// Returns everything read and whether the peer closed.
    func exchange(
        _ text: String?,
        halfCloseAfter: Bool = false,
        until isDone: @escaping @Sendable (String) -> Bool = { _ in false }
    ) async throws -> (received: String, closed: Bool) {
        try await channel.executeThenClose { inbound, outbound in
            if let text {
                try await outbound.write(ByteBuffer(string: text))
            }
            if halfCloseAfter {
                outbound.finish()
            }
            var received = ""
            for try await chunk in inbound {
                received += String(buffer: chunk)
                if isDone(received) { return (received, false) }
            }
            return (received, true)
        }
    }

    /// Runs `body` with an `exchange` function that sends a request and reads until `isDone`
    /// accepts what arrived for it, so that several exchanges share this one connection.
    /// Throws `ChannelError.eof` when the peer closes first.
    func session<Result>(
        _ body: (_ exchange: (_ text: String, _ isDone: (String) -> Bool) async throws -> String) async throws -> Result
    ) async throws -> Result {
        try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            return try await body { text, isDone in
                try await outbound.write(ByteBuffer(string: text))
                var received = ""
                while !isDone(received) {
                    guard let chunk = try await responses.next() else { throw ChannelError.eof }
                    received += String(buffer: chunk)
                }
                return received
            }
        }
    }
}

/// How a ``RawConnection`` speaks TLS: asking for `serverName` (nil: no SNI), accepting only
/// the certificate `expecting` whatever names it covers, up to `maximumVersion`, offering
/// `cipherSuites` (OpenSSL's names) for TLS 1.2.
struct TLSClient {
    var serverName: String?
    var expecting: NIOSSLCertificate
    var maximumVersion: TLSVersion?
    var cipherSuites: String?
}
