// swift-tools-version:5.9
// The zkiris Swift package, as apps use it. In Xcode: File > Add Package Dependencies, this
// repository's URL, a version (a release tag); or in a Package.swift:
//   .package(url: "<this repository>", from: "<release version>")
// and the product "Zkiris" as a dependency of the app's target.
//
// The Rust library is a prebuilt XCFramework (binary target) that SwiftPM downloads from the
// release: ios/scripts/build-xcframework.sh builds it on a Mac, ios/scripts/release-xcframework.sh
// zips it and writes the zip's URL and SHA-256 between the markers below. SwiftPM refuses the
// download if the zip's checksum differs. The Swift sources stay in ios/ (Sources, Tests).
//
// ios/Package.swift declares the same targets against a locally built XCFramework
// (ios/zkiris_ffiFFI.xcframework): use it to run the XCTests and to develop the Swift layer.
// scripts/check-packaging.sh (run by scripts/test) checks that the two manifests agree.
import PackageDescription

// BEGIN release-xcframework.sh (written by ios/scripts/release-xcframework.sh; do not edit)
let xcframeworkURL = ""
let xcframeworkChecksum = ""
// END release-xcframework.sh

// Empty until the first release: no XCFramework has been built and published yet (it needs
// Xcode), and a checksum of anything else would be made up.
precondition(
    !xcframeworkURL.isEmpty && !xcframeworkChecksum.isEmpty,
    "zkiris: no XCFramework has been released yet; build one with ios/scripts/build-xcframework.sh and use ios/Package.swift"
)

let package = Package(
    name: "Zkiris",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Zkiris", targets: ["Zkiris"]),
    ],
    targets: [
        // libzkiris_ffi.a per platform; Headers/zkiris_ffiFFI/ holds the C module `zkiris_ffiFFI`.
        .binaryTarget(name: "zkiris_ffiFFI", url: xcframeworkURL, checksum: xcframeworkChecksum),
        // The generated Swift bindings (bindings/generate.sh).
        .target(
            name: "ZkirisFFI",
            dependencies: ["zkiris_ffiFFI"],
            path: "ios/Sources/ZkirisFFI",
            // getrandom uses SecRandomCopyBytes on Apple platforms.
            linkerSettings: [.linkedFramework("Security")]
        ),
        // async/await, AsyncStream progress, typed errors, key providers.
        .target(name: "Zkiris", dependencies: ["ZkirisFFI"], path: "ios/Sources/Zkiris"),
        // Mirrors android/jvm-tests. Reads the tiny test models from models/.
        .testTarget(name: "ZkirisTests", dependencies: ["Zkiris"], path: "ios/Tests/ZkirisTests"),
    ]
)
