// swift-tools-version:6.0
import PackageDescription

// Two executables on purpose: `exportctl` (submit, status, wait, list, cancel,
// stats, daemon) never links FFmpeg, so it starts in a few milliseconds;
// `exportctl-render` is the render child the daemon spawns per job and the
// only binary that loads libavformat & co.
let package = Package(
    name: "exportctl",
    products: [
        .executable(name: "exportctl", targets: ["exportctl"]),
        .executable(name: "exportctl-render", targets: ["exportctl-render"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CJSONC", path: "Sources/CJSONC", pkgConfig: "json-c",
            providers: [.apt(["libjson-c-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg",
            pkgConfig: "libavformat libavcodec libavutil libswscale libswresample",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]),
        .systemLibrary(name: "CSpoolSys", path: "Sources/CSpoolSys"),
        .systemLibrary(name: "CLibcrypto", path: "Sources/CLibcrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibdeflate", path: "Sources/CLibdeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CLibass", path: "Sources/CLibass", pkgConfig: "libass", providers: [.apt(["libass-dev"])]),
        .systemLibrary(
            name: "CFontconfig", path: "Sources/CFontconfig", pkgConfig: "fontconfig",
            providers: [.apt(["libfontconfig-dev"])]),
        .target(name: "ExportCore", dependencies: ["CJSONC", "CSpoolSys", "CLibcrypto"]),
        .target(name: "ExportRender", dependencies: ["ExportCore", "CFFmpeg", "CLibass", "CFontconfig", "CLibdeflate"]),
        .executableTarget(
            name: "exportctl",
            dependencies: ["ExportCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            // One static executable: nothing to load or relocate at start (submit and status
            // run thousands of times a day; docs/design.md, docs/benchmarks.md). It never loads
            // FFmpeg. The three libraries FoundationEssentials needs (swift-argument-parser
            // imports it) are named because a debug link, without dead stripping, needs them
            // after it on the command line.
            linkerSettings: [.unsafeFlags(["-static-executable", "-l_FoundationCShims", "-l_FoundationCollections", "-lswiftSynchronization"])]),
        .executableTarget(name: "exportctl-render", dependencies: ["ExportCore", "ExportRender"]),
        .testTarget(name: "ExportCoreTests", dependencies: ["ExportCore"]),
        .testTarget(name: "ExportRenderTests", dependencies: ["ExportRender", "ExportCore"]),
        .testTarget(name: "CLITests", dependencies: ["ExportCore"]),
    ]
)
