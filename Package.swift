// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "lever-hubert-sync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lever-hubert-sync", targets: ["lever-hubert-sync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        /// libcurl through a typed shim for its variadic calls.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        /// The core: the planner's models and rules (eligibility, tagging periods, write-back plans, problems, actions).
        /// Imports nothing but Foundation: no I/O, no adapters.
        .target(name: "SyncCore"),
        /// The adapters and the engine over the core: libcurl transport, Lever and Hubert clients, the SQLite store
        /// (GRDB), configuration, the pass and the operator's tools.
        .target(
            name: "LeverHubertSync",
            dependencies: [
                "SyncCore",
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        /// In-repo Lever and Hubert sandbox servers (loopback only) for tests and `demo`.
        .target(
            name: "Sandbox",
            dependencies: [
                "LeverHubertSync",
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        .executableTarget(
            name: "lever-hubert-sync",
            dependencies: [
                "LeverHubertSync",
                "Sandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The benchmark: a release binary against the sandboxes; prints request counts, wall time against the
        /// rate-budget lower bound, 429s, CPU time and peak RSS, and decode throughput.
        .executableTarget(
            name: "lhs-bench",
            dependencies: [
                "LeverHubertSync",
                "Sandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        /// The fast tier: pure rules, the limiter, decoders, configuration, time arithmetic — no sockets, no files
        /// beyond the repository's docs. The inner loop: `swift test --filter UnitTests`.
        .testTarget(
            name: "UnitTests",
            dependencies: ["SyncCore", "LeverHubertSync"]
        ),
        .testTarget(
            name: "LeverHubertSyncTests",
            dependencies: ["SyncCore", "LeverHubertSync", "Sandbox", "lever-hubert-sync"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
