import Foundation
import Store

/// Creates the first admin token when the database has none: stored hashed, and written to
/// `<data-dir>/admin.token` with mode 0600, whose path is printed.
enum AdminToken {
    static func ensure(directory: DataDirectory, database: MiniDatabase) throws {
        let tokens = TokenStore(database: database)
        guard try tokens.count() == 0 else { return }
        let path = directory.adminTokenPath
        // The file first: a start killed between the two then makes a new token at the next
        // start, instead of leaving a stored token nobody holds.
        _ = try tokens.create(name: "admin") { token in
            try DataDirectory.writeDurably(token + "\n", toPrivateFile: path)
        }
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
