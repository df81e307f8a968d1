import AsyncHTTPClient
import Foundation
import NIOCore
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
}
