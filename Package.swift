// swift-tools-version:6.0
import PackageDescription

// libponder.so carries the Swift runtime inside it (-static-stdlib), so C and Python hosts
// need no Swift toolchain; so does the CLI. The library depends on no Swift package; only
// the CLI does.
let package = Package(
    name: "Ponder",
    products: [
        .library(name: "ponder", type: .dynamic, targets: ["Ponder"]),
        .executable(name: "ponder-cli", targets: ["ponder-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        // The public C header, imported so the C API's @_cdecl functions use its exact types.
        .systemLibrary(name: "CPonder", path: "Sources/CPonder"),
        // The int8 matrix kernels (AVX2, chosen at run time; portable C elsewhere): Swift has
        // no way to name AVX2's byte multiply-add. docs/performance.md has the measurement.
        .target(name: "CPonderKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "PonderCore",
            dependencies: ["COpenBLAS", "CPNG", "CPonderKernels"]
        ),
        // Exports only include/ponder.h's functions (exports.map): the Swift runtime and the
        // engine linked inside stay hidden, so they cannot clash with a host's own.
        .target(
            name: "Ponder",
            dependencies: ["PonderCore", "CPonder"],
            exclude: ["exports.map"],
            linkerSettings: [.unsafeFlags(["-static-stdlib",
                                           "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/Ponder/exports.map"])]
        ),
        // Linked like the library, so an installed `ponder` runs without the toolchain.
        .executableTarget(
            name: "ponder-cli",
            dependencies: [
                "PonderCore",
                "CPonder",  // for the header's constants (PONDER_DEFAULT_MODEL); it calls no C function
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // ArgumentParser brings in FoundationEssentials. Linked statically, its archive's
            // own dependencies must be named (swift-autolink-extract on the archive lists them):
            // the toolchain's driver reads autolink entries from our objects only.
            linkerSettings: [.unsafeFlags(["-static-stdlib"])] + [
                "_FoundationCShims", "_FoundationCollections", "swiftSynchronization",
                "swift_Concurrency", "swift_StringProcessing", "swift_RegexParser", "swiftGlibc",
            ].map { .linkedLibrary($0) }
        ),
        // Fixtures are read from the source tree (#filePath), not bundled.
        .testTarget(name: "PonderCoreTests", dependencies: ["PonderCore", "CPonderKernels"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
