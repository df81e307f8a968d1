import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import Docker

@Suite struct ValueTests {
    @Test func apiVersionIsTheLowerOfEngineAndClient() throws {
        let newer = try #require(APIVersion("1.43"))
        let older = try #require(APIVersion("1.40"))
        #expect(min(newer, .supported).description == "1.41")
        #expect(min(older, .supported).description == "1.40")
        #expect(APIVersion("1.4x") == nil)
        #expect(APIVersion("1") == nil)
    }

    @Test func engineTimestamps() throws {
        let date = try #require(EngineTimestamp.parse("2024-05-01T10:00:00.123456789Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_714_557_600.123456789) < 1e-6)
        #expect(EngineTimestamp.parse("2024-05-01T10:00:00Z")?.timeIntervalSince1970 == 1_714_557_600)
        #expect(EngineTimestamp.parse("0001-01-01T00:00:00Z") == nil)
        #expect(EngineTimestamp.parse("") == nil)
    }

    @Test func containerSpecPublishesOnLoopbackOnly() throws {
        let spec = ContainerSpec(
            name: "hello-web-1",
            image: "mini/hello:v1",
            publishedPort: .init(containerPort: 8080, hostPort: 41234),
            restartPolicy: .onFailure(maximumRetries: 3)
        )
        let json =
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(CreateContainerBody(spec: spec)))
            as? [String: Any]
        let hostConfig = try #require(json?["HostConfig"] as? [String: Any])
        let bindings = try #require(hostConfig["PortBindings"] as? [String: [[String: String]]])
        #expect(bindings == ["8080/tcp": [["HostIp": "127.0.0.1", "HostPort": "41234"]]])
        let restart = try #require(hostConfig["RestartPolicy"] as? [String: Any])
        #expect(restart["Name"] as? String == "on-failure")
        #expect(restart["MaximumRetryCount"] as? Int == 3)
        #expect((json?["ExposedPorts"] as? [String: Any])?.keys.sorted() == ["8080/tcp"])
    }

    @Test func queryValuesSurviveFormDecoding() {
        #expect(
            DockerClient.percentEncoded(#"{"label":["a=b+c"]}"#)
                == "%7B%22label%22%3A%5B%22a%3Db%2Bc%22%5D%7D")
        #expect(DockerClient.pathSegment("mini/hello:v1") == "mini/hello:v1")
    }

    @Test func freeLoopbackPortsComeFromTheRangeAndSkipRecordedAndBusyPorts() async throws {
        let port = try await PortAllocator.freeLoopbackPort()
        #expect(PortAllocator.defaultRange.contains(port))

        // A listener holds one port of a three-port range, a recorded instance another. The
        // range lies in instance ports, where no outgoing connection takes one of them.
        let busyPort = try await PortAllocator.freeLoopbackPort(in: 20001...29998)
        let busy = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: busyPort).get()
        let range = (busyPort - 1)...(busyPort + 1)
        for _ in 0..<10 {
            #expect(try await PortAllocator.freeLoopbackPort(in: range, excluding: [busyPort - 1]) == busyPort + 1)
        }
        await #expect(throws: PortAllocator.NoFreePort.self) {
            try await PortAllocator.freeLoopbackPort(in: range, excluding: [busyPort - 1, busyPort + 1])
        }
        try await busy.close()
    }
}
