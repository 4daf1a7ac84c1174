// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "pipeline",
    products: [
        .executable(name: "pipeline", targets: ["pipeline"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // /metrics, /healthz, /readyz: swift-metrics handles backed by a Prometheus registry, served
        // by a small NIOHTTP1 listener (no web framework: CI builds everything from a clean clone).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C shims: a modulemap and one header each, no logic.
        .systemLibrary(
            name: "CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        // glibc's <malloc.h> (mallopt), which the Glibc module leaves out; imported only by the CLI,
        // which tunes malloc for the worker.
        .systemLibrary(name: "CGlibcMalloc"),

        // Wrappers: the only importers of the shims.
        .target(name: "RdKafka", dependencies: ["CRdKafka"]),
        .target(name: "LibPQ", dependencies: ["CLibPQ"]),

        // The event contract: pure Swift, no dependencies.
        .target(name: "EventContract"),

        // The event simulator behind `pipeline produce`: pure Swift. It writes the contract's text
        // forms (event_time, event_id) with the contract's own code, and takes its limits as defaults.
        .target(name: "EventGenerator", dependencies: ["EventContract"]),

        // HyperLogLog sketches byte-identical to postgresql-hll's (hll_add_agg(…, 14, 5, -1, 1)), built in the
        // worker and merged in SQL with hll_union: pure Swift, no dependencies.
        .target(name: "Sketches"),

        // Batching, COPY encoding and the exactly-once loop, against EventSource/EventSink.
        .target(
            name: "PipelineCore",
            dependencies: [
                "EventContract", "Sketches",
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Everything that talks to Kafka or PostgreSQL: the EventSource over librdkafka, the
        // EventSink and migrations over libpq, the status queries, the refresh, the produce loop.
        .target(
            name: "PipelineIO",
            dependencies: [
                "PipelineCore", "RdKafka", "LibPQ", "EventGenerator",
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedMigrations"]),

        // migrations/ built into PipelineIO at build time (a lone binary migrates; no generated
        // copy in git): the plugin runs the embedder on every .sql file of the folder.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"]),

        // The worker's metrics (swift-metrics over a Prometheus registry), readiness, and the
        // HTTP listener serving /metrics, /healthz and /readyz. Fed by the worker's observers.
        .target(
            name: "PipelineTelemetry",
            dependencies: [
                "PipelineCore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Commands, flags, environment variables, logging bootstrap; no Kafka or PostgreSQL of its own.
        .target(
            name: "PipelineCLI",
            dependencies: [
                "PipelineIO", "PipelineCore", "PipelineTelemetry", "EventContract", "EventGenerator", "CGlibcMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "pipeline", dependencies: ["PipelineCLI"]),

        // What more than one test target needs (a plain HTTP GET). A test target cannot
        // depend on another, so this is a library that only test targets depend on:
        // never linked into `pipeline`.
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(
            name: "EventContractTests", dependencies: ["EventContract", "EventGenerator"],
            // valid/ and invalid/ payloads, read by path (IntegrationTests read them too).
            exclude: ["Fixtures"]),
        .testTarget(name: "EventGeneratorTests", dependencies: ["EventGenerator", "EventContract"]),
        .testTarget(
            name: "PipelineCoreTests", dependencies: ["PipelineCore", "EventContract", "EventGenerator", "Sketches"]),
        .testTarget(name: "RdKafkaTests", dependencies: ["RdKafka"]),
        .testTarget(name: "SketchesTests", dependencies: ["Sketches"]),
        .testTarget(name: "PipelineCLITests", dependencies: ["PipelineCLI"]),
        .testTarget(
            name: "PipelineTelemetryTests",
            dependencies: [
                "PipelineTelemetry", "PipelineCore", "EventContract", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "PipelineIO", "PipelineCore", "RdKafka", "LibPQ", "EventContract", "EventGenerator", "Sketches",
                "TestSupport",
            ],
            // The released 0001-0018 files, for the baseline upgrade test, read by path.
            exclude: ["Fixtures"]),
    ]
)
