// swift-tools-version:5.9
// Local development manifest of the zkiris Swift package: the same targets as the root
// Package.swift (the one apps use, which downloads a released XCFramework), but the binary
// target is the XCFramework built on this Mac by ios/scripts/build-xcframework.sh
// (ios/zkiris_ffiFFI.xcframework, git-ignored). Use it to run the XCTests and to work on the
// Swift layer before a release:
//   ios/scripts/build-xcframework.sh && cd ios && swift test        (WITH_MACOS=1 for swift test)
//   cd ios && xcodebuild test -scheme Zkiris -destination 'platform=iOS Simulator,name=iPhone 16'
// An app can also depend on it by path (.package(path: "<checkout>/ios")) to try a local build.
// scripts/check-packaging.sh (run by scripts/test) fails if its targets drift from the root's.
import PackageDescription

let package = Package(
    name: "Zkiris",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Zkiris", targets: ["Zkiris"]),
    ],
    targets: [
        // libzkiris_ffi.a per platform; Headers/zkiris_ffiFFI/ holds the C module `zkiris_ffiFFI`.
        .binaryTarget(name: "zkiris_ffiFFI", path: "zkiris_ffiFFI.xcframework"),
        // The generated Swift bindings (bindings/generate.sh).
        .target(
            name: "ZkirisFFI",
            dependencies: ["zkiris_ffiFFI"],
            path: "Sources/ZkirisFFI",
            // getrandom uses SecRandomCopyBytes on Apple platforms.
            linkerSettings: [.linkedFramework("Security")]
        ),
        // async/await, AsyncStream progress, typed errors, key providers.
        .target(name: "Zkiris", dependencies: ["ZkirisFFI"], path: "Sources/Zkiris"),
        // Mirrors android/jvm-tests. Reads the tiny test models from ../models.
        .testTarget(name: "ZkirisTests", dependencies: ["Zkiris"], path: "Tests/ZkirisTests"),
    ]
)
