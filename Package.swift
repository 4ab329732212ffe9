// swift-tools-version: 6.2
import PackageDescription

// `make dist` sets LOGDIAG_STATIC_C=1: the C libraries come from their static archives, which
// scripts/dist.sh hands the linker, so the system-library targets must not autolink the shared
// ones (no pkg-config, module maps without `link`).
let staticC = Context.environment["LOGDIAG_STATIC_C"] == "1"

let package = Package(
    name: "logdiag",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "logdiag", targets: ["logdiag"]),
        .library(name: "LogModel", targets: ["LogModel"]),
        .library(name: "LogArchive", targets: ["LogArchive"]),
        .library(name: "LogServe", targets: ["LogServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            path: staticC ? "Sources/StaticC/CPCRE2" : nil,
            pkgConfig: staticC ? nil : "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .target(name: "CByteScan"),
        // Archives and compressed files (libarchive, Debian's libarchive-dev) in their own target:
        // LogModel states what it needs (`PackedReading`), the command links the reader.
        .systemLibrary(
            name: "CArchive",
            path: staticC ? "Sources/StaticC/CArchive" : nil,
            pkgConfig: staticC ? nil : "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .target(
            name: "LogModel",
            dependencies: ["CPCRE2", "CByteScan", .product(name: "Yams", package: "Yams")],
            resources: [.embedInCode("Rules/Builtin"), .embedInCode("Knowledge/Tables")]
        ),
        .target(name: "LogArchive", dependencies: ["LogModel", "CArchive"]),
        // `logdiag watch --listen`: the HTTP listener (SwiftNIO) and the Prometheus exposition
        // (swift-prometheus) in their own target, so LogModel links neither.
        .target(
            name: "LogServe",
            dependencies: [
                "LogModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "logdiag",
            dependencies: ["LogModel", "LogArchive", "LogServe",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Benchmark tool for `make bench` (scripts/bench.sh): stage timings and allocation counts.
        // Not a product and not used by any test.
        .target(name: "CMallocCount", path: "Sources/logdiag-bench/CMallocCount"),
        .executableTarget(
            name: "logdiag-bench",
            dependencies: ["LogModel", "LogArchive", "CMallocCount"],
            path: "Sources/logdiag-bench",
            exclude: ["CMallocCount"]
        ),
        .testTarget(
            name: "LogModelTests",
            dependencies: ["LogModel", "LogArchive", "LogServe"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
