import Docker
import Foundation
import Store

/// Settings of a worker process, with their defaults.
public struct WorkerConfiguration: Sendable {
    /// Where the database, uploads and logs live.
    public var dataDirectory: DataDirectory
    /// A build that runs longer fails with reason `timed out`. Default 15 min.
    public var buildTimeout: Duration = .seconds(15 * 60)
    /// A memory limit for each build step, in bytes, so one build cannot take the VM down.
    /// Default nil (the engine's default).
    public var buildMemoryLimit: Int64?
    /// How long a new release may take to answer its health check. Default 60 s.
    public var healthTimeout: Duration = .seconds(60)
    /// How often a lease is checked for loss (cancel, expiry). Default 500 ms.
    public var leaseCheckInterval: Duration = .milliseconds(500)
    /// How long an idle worker waits for a change before it looks again. Default 1 s.
    public var idleWait: Duration = .seconds(1)
    /// How long the proxy may take to pick up a route change: the job ends and old instances
    /// stop only once it has, or after this long when it cannot be asked (no local proxy).
    /// Default 300 ms (the proxy watches the store every 10 ms).
    public var routePropagationDelay: Duration = .milliseconds(300)
    /// How long old instances may finish the requests (and WebSocket tunnels) the proxy still
    /// has in flight to them before they are stopped anyway. Default 30 s.
    public var drainTimeout: Duration = .seconds(30)
    /// The host ports instances are published on (on 127.0.0.1). Default 20000–29999, below
    /// the kernel's ephemeral range (see ``PortAllocator/defaultRange``).
    public var instancePorts: ClosedRange<Int> = PortAllocator.defaultRange
    /// The grace period of `docker stop` before SIGKILL, in seconds. Default 10.
    public var stopGraceSeconds: Int = 10

    public init(dataDirectory: DataDirectory) {
        self.dataDirectory = dataDirectory
    }
}
