// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swerve",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swerve", targets: ["swerve"]),
        .library(name: "SwerveCore", targets: ["SwerveCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
    ],
    targets: [
        // Protocol-free core: tensors, configs, the model repository, the model manager, scheduling,
        // the error table and InferenceServer, the one door the frontends use.
        .target(
            name: "SwerveCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["Config/Generated/README.md"],
            swiftSettings: swiftSettings
        ),
        // ONNX Runtime backend: opens libonnxruntime at run time, no headers needed.
        .target(
            name: "SwerveONNXRuntime",
            dependencies: [
                "SwerveCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // PyTorch backend: TorchScript models through a small C shim over libtorch (native/torch_shim,
        // built by scripts/build_torch_shim.sh), opened at run time; no torch needed to build.
        .target(
            name: "SwerveTorch",
            dependencies: [
                "SwerveCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // TensorFlow SavedModel backend: opens the tensorflow-cpu wheel's libtensorflow_cc at run time,
        // no headers needed; reads signatures with swift-protobuf code generated from proto/tensorflow.
        .target(
            name: "SwerveTensorFlow",
            dependencies: [
                "SwerveCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Generated/README.md"],
            swiftSettings: swiftSettings
        ),
        // The HTTP frontends on Hummingbird: KServe v2 (JSON and binary), TorchServe inference and
        // management, TF Serving REST and Prometheus metrics, with helpers they share in Shared/.
        .target(
            name: "SwerveHTTP",
            dependencies: [
                "SwerveCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // TLS shared by the HTTP and gRPC listeners: PEM files read and checked, the certificate
        // reloaded on SIGHUP for new handshakes.
        .target(
            name: "SwerveTLS",
            dependencies: [
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // KServe v2 gRPC frontend (GRPCInferenceService, grpc.health.v1) on grpc-swift-2.
        .target(
            name: "SwerveGRPC",
            dependencies: [
                "SwerveCore",
                "SwerveTLS",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // libjpeg(-turbo) and libpng (Debian's libjpeg62-turbo-dev, libpng-dev) behind a small C shim
        // that turns their fatal errors into return values instead of exit() or a crash.
        .target(
            name: "CSwerveImageCodecs",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]
        ),
        // The resampler's inner loops in C, built for AVX2, SSE4.1 and the baseline and picked at load
        // time (Swift compiles a module for one CPU).
        .target(
            name: "CSwerveImageKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // Image preprocessing: decode, orient, resize, crop, normalise (softmax and top-k are in the core).
        .target(
            name: "SwerveImage",
            dependencies: ["SwerveCore", "CSwerveImageCodecs", "CSwerveImageKernels"],
            swiftSettings: swiftSettings
        ),
        // Fakes shared by the test targets (a backend that needs no ONNX Runtime).
        .target(
            name: "SwerveTesting",
            dependencies: ["SwerveCore"],
            swiftSettings: swiftSettings
        ),
        // Decode + preprocess throughput of SwerveImage, for bench/image_preprocess.py.
        .executableTarget(
            name: "swerve-image-bench",
            dependencies: ["SwerveCore", "SwerveImage"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swerve",
            dependencies: [
                "SwerveCore",
                "SwerveONNXRuntime",
                "SwerveTorch",
                "SwerveTensorFlow",
                "SwerveHTTP",
                "SwerveGRPC",
                "SwerveImage",
                "SwerveTLS",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveCoreTests",
            dependencies: ["SwerveCore", "SwerveTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveONNXRuntimeTests",
            dependencies: ["SwerveCore", "SwerveONNXRuntime", "SwerveTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveTorchTests",
            dependencies: [
                "SwerveCore", "SwerveTorch", "SwerveTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveTensorFlowTests",
            dependencies: [
                "SwerveCore", "SwerveTensorFlow", "SwerveTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveHTTPTests",
            dependencies: [
                "SwerveCore", "SwerveHTTP", "SwerveTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveGRPCTests",
            dependencies: [
                "SwerveCore", "SwerveGRPC", "SwerveTesting",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveTLSTests",
            dependencies: [
                "SwerveTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwerveImageTests",
            dependencies: ["SwerveCore", "SwerveImage"],
            swiftSettings: swiftSettings
        ),
    ]
)

// libFuzzer targets, one per parser (Fuzz/README.md), only with SWERVE_FUZZ=1 so that the normal
// build and tests never see them: `make fuzz` (scripts/fuzz.sh) builds them with libFuzzer and ASan.
// libFuzzer supplies `main`, so each is compiled as a library (`-parse-as-library`) and defines
// `LLVMFuzzerTestOneInput`.
if Context.environment["SWERVE_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzKServeJSON", ["SwerveCore", "SwerveHTTP", "SwerveTesting"]),
        ("FuzzKServeBinary", ["SwerveCore", "SwerveHTTP", "SwerveTesting"]),
        ("FuzzTFServingJSON", ["SwerveCore", "SwerveHTTP"]),
        ("FuzzMultipart", ["SwerveHTTP"]),
        ("FuzzDecompress", ["SwerveHTTP"]),
        ("FuzzModelConfig", ["SwerveCore", "SwerveImage", "SwerveTesting"]),
        ("FuzzImageDecoder", ["SwerveImage"]),
        ("FuzzImagePipeline", ["SwerveCore", "SwerveImage"]),
        ("FuzzGRPCInfer", ["SwerveCore", "SwerveGRPC", "SwerveTesting"]),
        (
            "FuzzParameterText",
            [
                "SwerveCore", "SwerveHTTP", "SwerveGRPC", "SwerveImage",
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ]
        ),
    ]
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name, dependencies: target.dependencies, path: "Fuzz/\(target.name)",
                swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]))
    }
}
