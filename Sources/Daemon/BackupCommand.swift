import ArgumentParser
import Foundation
import MiniCore
import Store

/// `minid backup FILE`: a consistent copy of the database while mini runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database (apps, releases, environments, domains, tokens, jobs) to a file while mini runs.",
        discussion: """
            The copy is of one moment, one file, mode 0600 (it holds every app's environment). \
            Build logs and uploads are not in it, and images stay in the Docker engine: a \
            restored release whose image is gone is rebuilt by deploying again. Bring a backup \
            back with minid restore.
            """
    )

    @Argument(help: "The file to write (a new one, unless --force).")
    var file: String

    @Flag(help: "Replace the file if it exists.")
    var force = false

    @Flag(help: "Print what the backup holds as JSON.")
    var json = false

    @OptionGroup var data: DataOptions

    func run() async throws {
        let directory = data.dataDirectory
        let summary = try directory.backup(to: file, replacing: force)
        if json {
            print(String(decoding: try JSONEncoder.mini.encode(summary), as: UTF8.self))
        } else {
            print("backed up \(directory.databasePath) to \(file): \(describe(summary))")
        }
    }
}

/// `minid restore FILE`: a backup becomes the data folder's database.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Make a backup the data folder's database (stop every minid on the folder first).",
        discussion: """
            The database there moves aside to mini.sqlite.before-restore-<time>, with its WAL. \
            It refuses while any minid uses the folder. Start minid after it: the reconciler runs \
            each app's restored release again, and removes instances of releases the backup does \
            not know. admin.token is not in a backup: keep your tokens, or make one with minid tokens.
            """
    )

    @Argument(help: "The backup, as minid backup wrote it.")
    var file: String

    @Flag(help: "Restore a backup of another installation over this folder's database.")
    var force = false

    @OptionGroup var data: DataOptions

    func run() async throws {
        let directory = data.dataDirectory
        let restored = try directory.restore(from: file, acceptingOtherInstallation: force)
        print("restored \(file) to \(directory.databasePath): \(describe(restored.summary))")
        if let previous = restored.previous {
            print("the database it replaced is at \(previous)")
        }
    }
}

/// `3 apps, 7 releases, 2 tokens, 120.0K (installation …)`.
private func describe(_ summary: BackupSummary) -> String {
    "\(summary.apps) apps, \(summary.releases) releases, \(summary.tokens) tokens, "
        + "\(ByteSize.format(summary.bytes)) (installation \(summary.installation))"
}
