// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "logdiag",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "logdiag", targets: ["logdiag"]),
        .library(name: "LogModel", targets: ["LogModel"]),
        .library(name: "LogArchive", targets: ["LogArchive"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .target(name: "CByteScan"),
        // Archives and compressed files (libarchive, Debian's libarchive-dev) in their own target:
        // LogModel states what it needs (`PackedReading`), the command links the reader.
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .target(
            name: "LogModel",
            dependencies: ["CPCRE2", "CByteScan", .product(name: "Yams", package: "Yams")],
            resources: [.embedInCode("Rules/Builtin"), .embedInCode("Knowledge/Tables")]
        ),
        .target(name: "LogArchive", dependencies: ["LogModel", "CArchive"]),
        .executableTarget(
            name: "logdiag",
            dependencies: ["LogModel", "LogArchive", .product(name: "ArgumentParser", package: "swift-argument-parser")]
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
            dependencies: ["LogModel", "LogArchive"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
