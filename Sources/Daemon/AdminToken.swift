import Foundation
import Store

/// Creates the first admin token when the database has none: stored hashed, and written to
/// `<data-dir>/admin.token` with mode 0600, whose path is printed.
enum AdminToken {
    static func ensure(directory: DataDirectory, database: MiniDatabase) async throws {
        let path = directory.adminTokenPath
        // The file before the commit: a start killed between the two makes a new token at
        // the next start, instead of leaving a stored token nobody holds.
        let created = try await TokenStore(database: database).createFirst(name: "admin") { token in
            try DataDirectory.writeDurably(token + "\n", toPrivateFile: path)
        }
        guard created != nil else { return }
        // Only the path is printed: the output may be kept (systemd's journal), the file is not
        // readable by anyone else.
        announce(
            """
            Created the admin API token in \(path) (mode 0600). Give it to mini with:

                mini config set-token < \(path)

            """
        )
    }

    /// How to give `mini` a token: from the admin token's file while it holds a valid token,
    /// else (revoked, or moved away) by making one.
    static func setTokenStep(directory: DataDirectory, database: MiniDatabase) async -> String {
        let path = directory.adminTokenPath
        let token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        if let token, let identity = try? await TokenStore(database: database).verify(token),
            !identity.hasExpired()
        {
            return "mini config set-token < \(path)"
        }
        return "minid tokens create NAME --data-dir \(directory.root) | mini config set-token"
            + "   (\(path) holds no valid token)"
    }
}
