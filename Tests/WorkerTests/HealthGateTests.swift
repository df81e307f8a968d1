import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import Worker

/// How a failed health check is said in the build log.
@Suite struct HealthGateTests {
    @Test("no answer on the app's port points at the usual cause: listening on 127.0.0.1 in the container")
    func noAnswerSaysWhy() {
        for error: any Error in [
            IOError(errnoCode: ECONNRESET, reason: "read(descriptor:pointer:size:)"),
            HTTPClientError.remoteConnectionClosed,
        ] {
            let said = HealthGate.describe(error)
            #expect(said.contains("does it listen on 0.0.0.0 and $PORT"), "\(said)")
            #expect(said.filter { $0 == "(" }.count == said.filter { $0 == ")" }.count, "\(said)")
        }
        #expect(
            HealthGate.describe(IOError(errnoCode: ECONNRESET, reason: "read")).contains("connection reset by peer"))
        #expect(!HealthGate.describe(HTTPClientError.readTimeout).contains("0.0.0.0"))
    }

    @Test(
        "an instance that answers and then streams or stalls its body has answered: the probe returns",
        .timeLimit(.minutes(1)))
    func aStalledBodyDoesNotHoldTheProbe() async throws {
        // Sends a head, a first chunk of the body, then nothing, keeping the connection.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.addHandler(StallingResponder())
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let started = ContinuousClock.now
        let status = try await HTTPClient.instanceProbes.probe(
            port: port, path: "/up", timeout: .seconds(5), bodyTimeout: .milliseconds(300))
        #expect(status == .ok)
        #expect(ContinuousClock.now - started < .seconds(4), "the probe waited for the body")
    }
}

/// Answers any bytes with a 200 head for a chunked body, sends its first chunk, and stalls (a
/// length over 64 KiB would end the probe's read at once).
private final class StallingResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
    }
}
