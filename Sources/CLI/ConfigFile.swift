import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `$XDG_CONFIG_HOME/mini/config.json` (default `~/.config/mini/config.json`):
/// `{"host": "...", "token": "..."}`, readable by its owner only.
struct ConfigFile: Codable, Equatable, Sendable {
    var host: String?
    var token: String?

    /// The file's path under the current environment.
    static var path: String {
        let environment = ProcessInfo.processInfo.environment
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.config")
        return base + "/mini/config.json"
    }

    /// The saved settings; none when the file does not exist.
    static func load() throws -> ConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else { return ConfigFile() }
        do {
            return try JSONDecoder().decode(ConfigFile.self, from: data)
        } catch {
            throw CLIFailure(
                "\(path) is not a mini config file (JSON such as {\"host\": \"http://HOST:PORT\", \"token\": \"...\"}): "
                    + "fix it, or delete it and run mini config set-host and set-token again "
                    + "(--host and --token, or MINI_HOST and MINI_TOKEN, do without it)")
        }
    }

    /// Writes the file atomically: folder mode 0700, file mode 0600 from its first byte.
    func save() throws {
        let path = Self.path
        let directory = (path as NSString).deletingLastPathComponent
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
            )
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
            let temporary = path + ".tmp-\(getpid())"
            guard
                FileManager.default.createFile(
                    atPath: temporary, contents: try encoder.encode(self),
                    attributes: [.posixPermissions: 0o600]
                )
            else { throw CocoaError(.fileWriteUnknown) }
            guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            throw CLIFailure("cannot write \(path): \(error)")
        }
    }
}
