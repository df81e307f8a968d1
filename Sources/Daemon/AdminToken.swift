import Foundation
import Store

/// Creates the first admin token when the database has none: stored hashed, and written to
/// `<data-dir>/admin.token` with mode 0600, whose path is printed.
enum AdminToken {
    static func ensure(directory: DataDirectory, database: MiniDatabase) throws {
        let path = directory.adminTokenPath
        // The file before the commit: a start killed between the two makes a new token at
        // the next start, instead of leaving a stored token nobody holds.
        let created = try TokenStore(database: database).createFirst(name: "admin") { token in
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
}
