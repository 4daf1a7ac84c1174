import Foundation
import Testing

/// docker-compose.yml, the Dockerfile and deploy/ checked statically: there is no Docker engine
/// here, so nothing is started. What a user would find wrong on `docker compose up` first: a
/// file that does not parse, a mounted path that is not there, an environment variable the
/// binary does not read, a port Prometheus does not scrape, a service started before what it needs.
@Suite(
    "docker-compose.yml and the Dockerfile, checked statically",
    .enabled(if: YAMLFile.available, Comment(rawValue: YAMLFile.missing)))
struct ComposeFileTests {
    typealias Object = [String: Any]

    static func compose() throws -> (file: Object, services: [String: Object]) {
        let file = try #require(try YAMLFile.load("docker-compose.yml") as? Object)
        let services = try #require(file["services"] as? [String: Object])
        return (file, services)
    }

    static func environment(_ service: Object) -> [String: String] {
        (service["environment"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
    }

    /// `${NAME:-default}` → default (what compose uses when NAME is unset).
    static func withDefaults(_ value: String) -> String {
        value.replacing(#/\$\{[A-Z_]+:-([^}]*)\}/#) { String($0.output.1) }
    }

    static func volumes(_ service: Object) -> [(host: String, container: String)] {
        (service["volumes"] as? [String] ?? []).compactMap { entry in
            let parts = entry.split(separator: ":").map(String.init)
            return parts.count >= 2 ? (parts[0], parts[1]) : nil
        }
    }

    @Test("it parses; Kafka is KRaft (no ZooKeeper), PostgreSQL 16, Prometheus, Grafana, the worker and the generator")
    func services() throws {
        let (_, services) = try Self.compose()
        #expect(
            Set(services.keys).isSuperset(of: ["kafka", "postgres", "worker", "generator", "prometheus", "grafana"]))
        let kafka = try #require(services["kafka"])
        #expect((kafka["image"] as? String)?.hasPrefix("apache/kafka:") == true)
        let kafkaEnv = Self.environment(kafka)
        #expect(
            kafkaEnv["KAFKA_PROCESS_ROLES"]?.contains("controller") == true, "KRaft: the broker is its own controller")
        #expect(!services.keys.contains { $0.contains("zookeeper") })
        #expect(!kafkaEnv.keys.contains { $0.contains("ZOOKEEPER") })
        // postgres:16 with the hll extension the sketches need (migration 0019).
        let postgresBuild = try #require(services["postgres"]?["build"] as? [String: Any])
        let postgresDockerfile = try String(
            contentsOfFile: repositoryRoot + "/\(try #require(postgresBuild["context"] as? String))/"
                + "\(try #require(postgresBuild["dockerfile"] as? String))", encoding: .utf8)
        #expect(postgresDockerfile.contains("FROM postgres:16\n"))
        #expect(postgresDockerfile.contains("postgresql-16-hll"))
        #expect((services["prometheus"]?["image"] as? String)?.hasPrefix("prom/prometheus:") == true)
        #expect((services["grafana"]?["image"] as? String)?.hasPrefix("grafana/grafana:") == true)
    }

    @Test("every host path mounted or built from exists in the repository")
    func hostPathsExist() throws {
        let (_, services) = try Self.compose()
        var checked = 0
        for (name, service) in services {
            for (host, _) in Self.volumes(service) where host.hasPrefix(".") || host.hasPrefix("/") {
                #expect(FileManager.default.fileExists(atPath: repositoryRoot + "/" + host), "\(name) mounts \(host)")
                checked += 1
            }
            if let build = service["build"] as? String {
                #expect(FileManager.default.fileExists(atPath: repositoryRoot + "/" + build + "/Dockerfile"), "\(name)")
            }
        }
        #expect(checked >= 4)
        let initScript = repositoryRoot + "/deploy/postgres-init/10-grafana-reader.sh"
        #expect(
            FileManager.default.isExecutableFile(atPath: initScript), "the postgres image runs only executable *.sh")
    }

    @Test("every PIPELINE_ variable given to the pipeline containers is one the command they run reads")
    func environmentMatchesTheCLI() throws {
        let (_, services) = try Self.compose()
        // The help of each command lists the variables it reads ("env: PIPELINE_…").
        func variables(_ command: String) throws -> Set<String> {
            let log = NSTemporaryDirectory() + "pipeline-compose-help.log"
            let help = try PipelineOutput.run([command, "--help"], logFile: log)
            return Set(help.stdout.matches(of: #/PIPELINE_[A-Z_]+/#).map { String($0.output) })
        }
        let worker = try #require(services["worker"])
        let entrypoint = (worker["entrypoint"] as? [String] ?? []).joined(separator: " ")
        #expect(entrypoint.contains("pipeline migrate && exec pipeline worker"), "migrates, then loads")
        let workerReads = try variables("worker").union(variables("migrate"))
        for name in Self.environment(worker).keys where name.hasPrefix("PIPELINE_") {
            #expect(workerReads.contains(name), "worker: \(name) is not read by pipeline migrate or worker")
        }
        let generator = try #require(services["generator"])
        #expect(generator["entrypoint"] as? [String] == ["pipeline", "produce"])
        let produceReads = try variables("produce")
        for name in Self.environment(generator).keys where name.hasPrefix("PIPELINE_") {
            #expect(produceReads.contains(name), "generator: \(name) is not read by pipeline produce")
        }
        // And the binary parses each value the way the flag would (no typo like "1 s").
        let environment = Self.environment(worker)
        #expect(environment["PIPELINE_INTERVAL"] == "1s")
        #expect(Int(environment["PIPELINE_METRICS_PORT"] ?? "") != nil)
    }

    @Test("the worker reaches Kafka, PostgreSQL and the topic the compose file creates")
    func connections() throws {
        let (_, services) = try Self.compose()
        let worker = Self.environment(try #require(services["worker"]))
        let kafka = Self.environment(try #require(services["kafka"]))
        let advertised = (kafka["KAFKA_ADVERTISED_LISTENERS"] ?? "").split(separator: ",").map {
            String($0.split(separator: "/").last ?? "")
        }
        for environment in [worker, Self.environment(try #require(services["generator"]))] {
            #expect(
                advertised.contains(environment["PIPELINE_BROKERS"] ?? "?"), "brokers must be an advertised listener")
            let create = try #require(services["kafka-init"]?["command"] as? [String])
            #expect(create.contains("--create") && create.contains(environment["PIPELINE_TOPIC"] ?? "?"))
        }
        let postgres = Self.environment(try #require(services["postgres"]))
        let user = try #require(postgres["POSTGRES_USER"])
        let database = try #require(postgres["POSTGRES_DB"])
        let password = Self.withDefaults(try #require(postgres["POSTGRES_PASSWORD"]))
        #expect(
            Self.withDefaults(worker["PIPELINE_DATABASE_URL"] ?? "")
                == "postgresql://\(user):\(password)@postgres:5432/\(database)")
        // grafana_reader's password: the init script reads the variable the postgres container gets.
        let initScript = try String(
            contentsOfFile: repositoryRoot + "/deploy/postgres-init/10-grafana-reader.sh", encoding: .utf8)
        #expect(initScript.contains(#"\getenv pw PIPELINE_GRAFANA_PASSWORD"#))
        #expect(postgres["PIPELINE_GRAFANA_PASSWORD"] != nil)
    }

    @Test("Prometheus scrapes the worker's metrics port; Grafana gets every variable its provisioning expands")
    func metricsAndGrafana() throws {
        let (_, services) = try Self.compose()
        let worker = try #require(services["worker"])
        let port = try #require(Self.environment(worker)["PIPELINE_METRICS_PORT"])
        #expect(port == "9464", "the --metrics-port default, so the image works without the variable too")
        #expect((worker["ports"] as? [String])?.contains("\(port):\(port)") == true)
        let dockerfile = try String(contentsOfFile: repositoryRoot + "/Dockerfile", encoding: .utf8)
        #expect(dockerfile.contains("EXPOSE \(port)"))

        let prometheus = try #require(services["prometheus"])
        let configPath = try #require(
            (prometheus["command"] as? [String])?.first { $0.hasPrefix("--config.file=") }?.dropFirst(
                "--config.file=".count))
        let mount = try #require(Self.volumes(prometheus).first { $0.container == String(configPath) })
        let scrape = try #require(try YAMLFile.load(String(mount.host.dropFirst(2))) as? Object)
        let jobs = try #require(scrape["scrape_configs"] as? [Object])
        let targets = jobs.flatMap {
            ($0["static_configs"] as? [Object] ?? []).flatMap { $0["targets"] as? [String] ?? [] }
        }
        #expect(targets == ["worker:\(port)"])

        let grafana = try #require(services["grafana"])
        let mounts = Self.volumes(grafana)
        #expect(mounts.contains { $0.host == "./grafana/provisioning" && $0.container == "/etc/grafana/provisioning" })
        let provisioning = try #require(try YAMLFile.load("grafana/provisioning/dashboards/dashboards.yaml") as? Object)
        let providers = try #require(provisioning["providers"] as? [Object])
        let dashboardsPath = try #require((providers.first?["options"] as? Object)?["path"] as? String)
        #expect(mounts.contains { $0.host == "./grafana/dashboards" && $0.container == dashboardsPath })

        // The values as parsed (comments gone), where Grafana expands ${VAR} at startup.
        let datasources = String(
            decoding: try JSONSerialization.data(
                withJSONObject: try YAMLFile.load("grafana/provisioning/datasources/datasources.yaml")),
            as: UTF8.self)
        let expanded = Set(datasources.matches(of: #/\$\{([A-Z_]+)\}/#).map { String($0.output.1) })
        let given = Self.environment(grafana)
        #expect(!expanded.isEmpty)
        #expect(expanded.isSubset(of: Set(given.keys)), "missing: \(expanded.subtracting(given.keys))")
        #expect(given["PIPELINE_PROMETHEUS_URL"] == "http://prometheus:9090")
        #expect((prometheus["ports"] as? [String])?.contains("9090:9090") == true)
        #expect(given["PIPELINE_GRAFANA_DB_HOST"] == "postgres:5432")
        #expect(
            given["PIPELINE_GRAFANA_DB_NAME"] == Self.environment(try #require(services["postgres"]))["POSTGRES_DB"])
        #expect(
            given["PIPELINE_GRAFANA_PASSWORD"]
                == Self.environment(try #require(services["postgres"]))["PIPELINE_GRAFANA_PASSWORD"])
    }

    @Test("start order: depends_on conditions exist and every service_healthy target has a healthcheck")
    func startOrder() throws {
        let (_, services) = try Self.compose()
        let conditions = ["service_started", "service_healthy", "service_completed_successfully"]
        for (name, service) in services {
            for (dependency, rule) in service["depends_on"] as? [String: Object] ?? [:] {
                let condition = rule["condition"] as? String ?? "?"
                #expect(services[dependency] != nil, "\(name) depends on unknown \(dependency)")
                #expect(conditions.contains(condition), "\(name) → \(dependency): \(condition)")
                if condition == "service_healthy" {
                    #expect(services[dependency]?["healthcheck"] != nil, "\(name) waits for \(dependency)'s health")
                }
            }
        }
        func condition(_ service: String, _ dependency: String) -> String? {
            (services[service]?["depends_on"] as? [String: Object])?[dependency]?["condition"] as? String
        }
        #expect(condition("worker", "postgres") == "service_healthy")
        #expect(condition("worker", "kafka-init") == "service_completed_successfully")
        #expect(condition("kafka-init", "kafka") == "service_healthy")
        #expect(condition("grafana", "postgres") == "service_healthy")
        let workerCheck = try #require(services["worker"]?["healthcheck"] as? Object)
        #expect((workerCheck["test"] as? [String])?.contains { $0.hasSuffix("/readyz") } == true)
    }

    @Test(
        "the Dockerfile: release build on the official Swift image, slim bookworm runtime with librdkafka1 and libpq5")
    func dockerfile() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/Dockerfile", encoding: .utf8)
        let stages = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.hasPrefix("FROM swift:") == true && stages.first?.contains("bookworm") == true)
        #expect(stages.last == "FROM debian:bookworm-slim")
        #expect(text.contains("swift build -c release --product pipeline"))
        #expect(text.contains("librdkafka1") && text.contains("libpq5"))
        let ignore = try String(contentsOfFile: repositoryRoot + "/.dockerignore", encoding: .utf8)
        #expect(ignore.split(separator: "\n").contains(".build"), "the build context leaves .build out")
    }
}
