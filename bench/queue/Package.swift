// swift-tools-version:6.0
import PackageDescription

// The queue benchmark, a package of its own so that `run.sh` can build it with
// `-c release` without touching the main package's build folder.
//
// SwiftPM refuses target paths outside the package root, so `run.sh` links the real
// modules (../../Sources/{MiniCore,Store,Queue}) into Sources/ before it builds; the links
// are git-ignored and no source is copied. The main package also builds `QueueBench`
// (path: bench/queue/Sources/QueueBench): the queue's stress tests start it as a worker.
let package = Package(
    name: "queue-bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .target(name: "MiniCore"),
        .target(
            name: "Store",
            dependencies: [
                "MiniCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Queue",
            dependencies: [
                "MiniCore", "Store",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                "MiniCore", "Store", "Queue",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ]
)
