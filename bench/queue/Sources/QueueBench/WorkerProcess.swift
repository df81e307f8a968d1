import Foundation

/// A worker child process of the coordinator: this same executable in the `worker` role,
/// started without a shell.
final class WorkerProcess {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    /// Starts `executable worker <arguments>` and returns once it printed `ready`.
    init(executable: URL, arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = ["worker"] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var received = Data()
        while !received.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else {
                process.waitUntilExit()
                throw BenchError(
                    "worker \(process.processIdentifier) exited (\(process.terminationStatus)) before it was ready; see its error output above"
                )
            }
            received.append(chunk)
        }
        guard String(decoding: received, as: UTF8.self).hasPrefix("ready") else {
            throw BenchError(
                "worker \(process.processIdentifier) said \(String(decoding: received, as: UTF8.self)) instead of ready"
            )
        }
    }

    /// Tells a `drain` worker to start, by closing its standard input.
    func start() throws {
        try input.fileHandleForWriting.close()
    }

    /// Asks a `wait` worker to finish, by SIGTERM.
    func stop() {
        process.terminate()
    }

    /// Waits for the process to end; throws unless it exited with status 0.
    func waitForExit() throws {
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw BenchError(
                "worker \(process.processIdentifier) failed with status \(process.terminationStatus); see its error output above"
            )
        }
    }

    /// Starts `count` workers; the log of worker `index` is `logPath(index)`.
    static func spawn(
        count: Int, database: String, logPath: (Int) -> String, extraArguments: [String] = []
    ) throws -> [WorkerProcess] {
        guard let executable = Bundle.main.executableURL else {
            throw BenchError("cannot find this executable's path to start workers")
        }
        return try (0..<count).map { index in
            try WorkerProcess(
                executable: executable,
                arguments: ["--database", database, "--log", logPath(index), "--name", "bench-\(index)"]
                    + extraArguments
            )
        }
    }
}
