import Foundation
import Store

/// Creates the first admin token when the database has none: stored hashed, and written to
/// `<data-dir>/admin.token` with mode 0600, whose path is printed.
enum AdminToken {
    static func ensure(directory: DataDirectory, database: MiniDatabase) throws {
        let tokens = TokenStore(database: database)
        guard try tokens.count() == 0 else { return }
        let token = try tokens.create(name: "admin")
        let path = directory.adminTokenPath
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
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
