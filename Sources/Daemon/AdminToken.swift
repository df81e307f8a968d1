import Foundation
import Store

/// Creates the first admin token when the database has none: printed once, stored hashed,
/// and written to `<data-dir>/admin.token` with mode 0600.
enum AdminToken {
    static func ensure(directory: DataDirectory, database: MiniDatabase) throws {
        let tokens = TokenStore(database: database)
        guard try tokens.count() == 0 else { return }
        let token = try tokens.create(name: "admin")
        let path = directory.adminTokenPath
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        print(
            """
            Created the admin API token (shown once; also saved in \(path), mode 0600):

                \(token)

            """
        )
    }
}
