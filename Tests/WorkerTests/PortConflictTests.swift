import Testing

@testable import Docker
@testable import Worker

/// Which engine errors mean an instance's host port was taken since it was chosen.
@Suite struct PortConflictTests {
    @Test(arguments: [
        // Another container holds it (engine 20.10's wording).
        (
            "driver failed programming external connectivity on endpoint mini-web-v2-1 (3f1c): "
                + "Bind for 127.0.0.1:20417 failed: port is already allocated", true
        ),
        // Another process holds it (docker-proxy could not listen).
        (
            "driver failed programming external connectivity on endpoint mini-web-v2-1 (3f1c): Error starting "
                + "userland proxy: listen tcp4 127.0.0.1:20417: bind: address already in use", true
        ),
        ("No such image: mini/web:v2", false),
        (
            "OCI runtime create failed: container_linux.go:380: starting container process caused: exec: "
                + "\"/bin/app\": stat /bin/app: no such file or directory: unknown", false
        ),
    ])
    func portTaken(message: String, taken: Bool) {
        #expect(DeployPipeline.isPortTaken(DockerError.engine(status: 500, message: message)) == taken)
    }
}
