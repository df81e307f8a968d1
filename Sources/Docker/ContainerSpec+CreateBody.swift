import MiniCore

/// A ``ContainerSpec`` as the JSON body of `POST /containers/create`.
struct CreateContainerBody: Encodable {
    var spec: ContainerSpec

    private enum Keys: String, CodingKey {
        case image = "Image"
        case env = "Env"
        case labels = "Labels"
        case command = "Cmd"
        case exposedPorts = "ExposedPorts"
        case stopTimeout = "StopTimeout"
        case hostConfig = "HostConfig"
        case tty = "Tty"
        case openStdin = "OpenStdin"
        case stdinOnce = "StdinOnce"
        case attachStdin = "AttachStdin"
    }

    private enum HostConfigKeys: String, CodingKey {
        case portBindings = "PortBindings"
        case memory = "Memory"
        case nanoCPUs = "NanoCpus"
        case restartPolicy = "RestartPolicy"
        case initProcess = "Init"
        case logConfig = "LogConfig"
    }

    private struct LogConfig: Encodable {
        var type = "json-file"
        var config: [String: String]

        enum CodingKeys: String, CodingKey {
            case type = "Type"
            case config = "Config"
        }
    }

    private enum RestartPolicyKeys: String, CodingKey {
        case name = "Name"
        case maximumRetryCount = "MaximumRetryCount"
    }

    /// A host binding, always on the loopback address.
    private struct Binding: Encodable {
        var hostIP = "127.0.0.1"
        var hostPort: String

        enum CodingKeys: String, CodingKey {
            case hostIP = "HostIp"
            case hostPort = "HostPort"
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(spec.image, forKey: .image)
        try container.encode(spec.env, forKey: .env)
        try container.encode(ContainerLabel.overridingImageLabels(spec.labels), forKey: .labels)
        try container.encodeIfPresent(spec.command, forKey: .command)
        try container.encodeIfPresent(spec.stopTimeout, forKey: .stopTimeout)
        if let stdin = spec.stdin {
            // Open until the one attached client closes its side.
            for key in [Keys.openStdin, .stdinOnce, .attachStdin] { try container.encode(true, forKey: key) }
            try container.encode(stdin == .terminal, forKey: .tty)
        }

        var hostConfig = container.nestedContainer(keyedBy: HostConfigKeys.self, forKey: .hostConfig)
        if let published = spec.publishedPort {
            let port = PortKey.tcp(published.containerPort)
            try container.encode([port: EmptyObject()], forKey: .exposedPorts)
            try hostConfig.encode([port: [Binding(hostPort: String(published.hostPort))]], forKey: .portBindings)
        }
        try hostConfig.encodeIfPresent(spec.memoryLimit, forKey: .memory)
        try hostConfig.encodeIfPresent(spec.nanoCPUs, forKey: .nanoCPUs)
        if spec.runsInit { try hostConfig.encode(true, forKey: .initProcess) }
        if let rotation = spec.logRotation {
            let config = ["max-size": String(rotation.maxFileBytes), "max-file": String(rotation.maxFiles)]
            try hostConfig.encode(LogConfig(config: config), forKey: .logConfig)
        }

        let (name, maximumRetryCount) =
            switch spec.restartPolicy {
            case .none: ("no", 0)
            case .unlessStopped: ("unless-stopped", 0)
            case .onFailure(let maximumRetries): ("on-failure", maximumRetries)
            }
        var restartPolicy = hostConfig.nestedContainer(keyedBy: RestartPolicyKeys.self, forKey: .restartPolicy)
        try restartPolicy.encode(name, forKey: .name)
        try restartPolicy.encode(maximumRetryCount, forKey: .maximumRetryCount)
    }
}
