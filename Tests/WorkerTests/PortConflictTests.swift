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

    /// Which engine refusals are the app's to fix (and not worth a retry).
    @Test(arguments: [
        ("No command specified", "no CMD or ENTRYPOINT"),
        (
            "OCI runtime create failed: runc create failed: unable to start container process: exec: "
                + "\"/bin/app\": stat /bin/app: no such file or directory: unknown", nil
        ),
        (
            "failed to create shim: OCI runtime create failed: exec: \"nope\": executable file not found in $PATH",
            "not a program in the image"
        ),
        ("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available", "lower the app's CPU limit"),
        (
            "OCI runtime create failed: openat2 /sys/fs/cgroup/system.slice/docker-1.scope/memory.max: "
                + "no such file or directory", nil
        ),
    ])
    func appRefusals(message: String, hint: String?) {
        let said = DeployPipeline.appRefusalHint(message)
        if let hint {
            #expect(said?.contains(hint) == true, "\(said ?? "nil")")
        } else {
            #expect(said == nil, "\(said ?? "nil")")
        }
    }
}
