/// What to create a container from; see ``DockerClient/createContainer(_:)``.
public struct ContainerSpec: Sendable, Hashable {
    /// A container port published on `127.0.0.1:hostPort`.
    ///
    /// The caller picks the host port (see ``PortAllocator``): a `127.0.0.1:0` binding would
    /// get a new random port each time the engine restarts the container.
    public struct PublishedPort: Sendable, Hashable {
        public var containerPort: Int
        public var hostPort: Int

        public init(containerPort: Int, hostPort: Int) {
            self.containerPort = containerPort
            self.hostPort = hostPort
        }
    }

    /// How much of a container's output the engine keeps: its `json-file` log driver,
    /// rotated at `maxFileBytes`, keeping `maxFiles` files (so at most their product).
    public struct LogRotation: Sendable, Hashable {
        public var maxFileBytes: Int64
        public var maxFiles: Int

        public init(maxFileBytes: Int64, maxFiles: Int) {
            self.maxFileBytes = maxFileBytes
            self.maxFiles = maxFiles
        }

        /// What mini keeps of each container's output, for `mini logs` and `docker logs`: 3
        /// files of 10 MiB (Kamal's default size), so a chatty app cannot fill the disk.
        public static let kept = LogRotation(maxFileBytes: 10 << 20, maxFiles: 3)
    }

    /// What the engine does when the container's process ends.
    public enum RestartPolicy: Sendable, Hashable {
        /// Leave it stopped.
        case none
        /// Restart it, also after an engine restart, unless it was stopped on purpose.
        case unlessStopped
        /// Restart it after a non-zero exit, at most `maximumRetries` times (0: no limit).
        case onFailure(maximumRetries: Int)
    }

    /// The container's name, unique on the engine.
    public var name: String
    /// The image id or name to run.
    public var image: String
    /// The environment, `KEY=value`, on top of the image's.
    public var env: [String]
    public var labels: [String: String]
    /// The command, replacing the image's `CMD`; the image's when nil.
    public var command: [String]?
    public var publishedPort: PublishedPort?
    /// The most memory in bytes, or no limit when nil.
    public var memoryLimit: Int64?
    /// The CPU quota in billionths of a CPU (`1_500_000_000` is 1.5 CPUs), or no limit.
    public var nanoCPUs: Int64?
    public var restartPolicy: RestartPolicy
    /// Seconds between SIGTERM and SIGKILL when the engine stops the container on its own
    /// (an engine shutdown); the engine's default (10) when nil.
    public var stopTimeout: Int?
    /// Runs the engine's init (tini) as PID 1, which passes signals on to the app and reaps
    /// zombies: an app that is PID 1 itself ignores SIGTERM unless it handles it.
    public var runsInit: Bool
    /// Keeps the container's output in rotated files; the engine's default log driver and
    /// options (json-file, unbounded, unless the daemon is configured otherwise) when nil.
    public var logRotation: LogRotation?
    /// Keeps the container's stdin open for an attached client (``DockerClient/attachInteractive(_:body:)``),
    /// closed once the client closes its side; with a terminal (TTY) when `terminal`.
    public var stdin: Stdin?

    /// How a container reads its stdin.
    public enum Stdin: Sendable, Equatable {
        /// A pipe: output comes as the engine's multiplexed frames.
        case pipe
        /// A terminal: output comes raw, stdout and stderr merged, as a terminal shows them.
        case terminal
    }

    /// `variables` and `PORT` (the port the app listens on, which mini sets in every
    /// container) as the engine takes them: `KEY=value`, sorted by key.
    public static func environment(_ variables: [String: String], port: Int) -> [String] {
        var variables = variables
        variables["PORT"] = String(port)
        return variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// A container that runs `command` once in `image`, in place of its `CMD`: not restarted,
    /// no published port, an init process that passes signals on, its output kept as
    /// ``LogRotation/kept`` says. For `mini run` and release commands.
    public static func runningOnce(
        _ command: [String], name: String, image: String, env: [String], labels: [String: String],
        memoryLimit: Int64?, nanoCPUs: Int64?
    ) -> ContainerSpec {
        ContainerSpec(
            name: name, image: image, env: env, labels: labels, command: command, memoryLimit: memoryLimit,
            nanoCPUs: nanoCPUs, restartPolicy: .none, runsInit: true, logRotation: .kept
        )
    }

    public init(
        name: String,
        image: String,
        env: [String] = [],
        labels: [String: String] = [:],
        command: [String]? = nil,
        publishedPort: PublishedPort? = nil,
        memoryLimit: Int64? = nil,
        nanoCPUs: Int64? = nil,
        restartPolicy: RestartPolicy = .none,
        stopTimeout: Int? = nil,
        runsInit: Bool = false,
        logRotation: LogRotation? = nil
    ) {
        self.name = name
        self.image = image
        self.env = env
        self.labels = labels
        self.command = command
        self.publishedPort = publishedPort
        self.memoryLimit = memoryLimit
        self.nanoCPUs = nanoCPUs
        self.restartPolicy = restartPolicy
        self.stopTimeout = stopTimeout
        self.runsInit = runsInit
        self.logRotation = logRotation
    }
}
