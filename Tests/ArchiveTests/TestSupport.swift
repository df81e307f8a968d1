import Foundation
import NIOCore

@testable import Archive

/// A temporary folder, removed when the test's closure returns.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("archive-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Creates a file (and its parent folders) with `contents` and `mode`.
func makeFile(_ path: String, _ contents: some DataProtocol = Data(), mode: Int = 0o644) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true
    )
    guard FileManager.default.createFile(atPath: path, contents: Data(contents)) else {
        throw TestFailure("cannot create \(path)")
    }
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}

/// Deterministic incompressible bytes.
func pseudoRandomBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
    var state = seed
    var data = Data(count: count)
    data.withUnsafeMutableBytes { bytes in
        for index in bytes.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
    }
    return data
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program found on `PATH` with an argument array (no shell); stdout and stderr merged.
@discardableResult
func run(_ program: String, _ arguments: [String], in directory: String? = nil, check: Bool = true)
    throws -> (
        status: Int32, output: String
    )
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    if check, process.terminationStatus != 0 {
        throw TestFailure("\(program) \(arguments) failed (\(process.terminationStatus)): \(output)")
    }
    return (process.terminationStatus, output)
}

/// Writes the whole stream to `path`; returns the chunks' sizes.
@discardableResult
func write(_ stream: TarStream, to path: String) async throws -> [Int] {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var sizes: [Int] = []
    for try await chunk in stream {
        sizes.append(chunk.readableBytes)
        try handle.write(contentsOf: Data(chunk.readableBytesView))
    }
    return sizes
}
