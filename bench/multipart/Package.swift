// swift-tools-version:6.0
// bench/multipart: our streaming multipart parser (Sources/Server/MultipartStreamParser.swift, linked here) against
// multipart-kit's MultipartParser on the same 500 MB upload: time and peak memory. Run by bench/multipart/run.sh.
import PackageDescription

let package = Package(
    name: "multipart-bench",
    dependencies: [
        .package(url: "https://github.com/vapor/multipart-kit", exact: "4.7.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "MultipartBench",
            dependencies: [
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
    ]
)
