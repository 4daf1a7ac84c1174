import Foundation
import LibPQ
import Testing

/// Every SQL query under grafana/ (dashboard panels and alert rules), with
/// Grafana's PostgreSQL macros expanded the way Grafana expands them, runs as
/// grafana_reader against data the real worker loaded.
@Suite("Grafana provisioning queries run as grafana_reader", .serialized)
struct GrafanaProvisioningTests {
    static let grafanaRoot = repositoryRoot + "/grafana"
    static let postgresUID = "pipeline-postgres"

    @Test("dashboards and alert rules: uids resolve, SQL reads analytics only, runs and returns rows")
    func queriesRunAsReader() throws {
        let kafka = try KafkaFixture(partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("grafana")
        var factory = EventFactory(seed: 5)
        let messages = factory.messages(count: 3000, malformedEvery: 40)
        try kafka.produce(messages)
        var run = WorkerRun(kafka: kafka, database: database)
        // Several batches: the factory's event times cycle through June, so later
        // batches load events behind the watermark (late events have rows too).
        run.configuration.maxBatchEvents = 500
        let summary = try run.run()
        #expect(summary.events == messages.filter { $0.expectedReason == nil }.count)
        #expect(summary.rejected == messages.count - summary.events)
        _ = try database.scalar("SELECT etl.refresh_aggregates(p_wait => true)")

        // Roles are cluster-wide: 0013 created grafana_reader (maybe for an earlier database).
        try database.connect().execute("ALTER ROLE grafana_reader PASSWORD 'x' LOGIN")
        let readerURL = database.url.replacingOccurrences(of: "//postgres@", with: "//grafana_reader:x@")
        #expect(readerURL != database.url, "expected a URL of the form postgresql://postgres@host:port/db")
        let reader = try PQConnection(readerURL)
        #expect(try reader.execute("SELECT current_user").value(0, 0) == "grafana_reader")
        #expect(throws: PostgresError.self) { try reader.execute("SELECT count(*) FROM etl.batches") }

        // The EventFactory's events are in 2025-06 (event time); the batches were committed just now.
        let range = GrafanaTimeRange(
            from: Date(timeIntervalSince1970: 1_748_649_600),  // 2025-05-31T00:00:00Z
            to: Date().addingTimeInterval(3600))

        let uids = try Self.datasourceUIDs()
        #expect(uids == [Self.postgresUID, "pipeline-prometheus"])

        var ran = 0
        var empty: [String] = []
        for (file, dashboard) in try Self.dashboards() {
            #expect(dashboard["id"] is NSNull, "\(file): \"id\" must be null")
            let uid = dashboard["uid"] as? String ?? ""
            #expect(file == "\(uid).json", "\(file): readable uid matching the file name")
            let panels = dashboard["panels"] as? [[String: Any]] ?? []
            #expect(!panels.isEmpty, "\(file)")
            for panel in panels {
                let title = "\(file): \(panel["title"] as? String ?? "?")"
                #expect(uids.contains(Self.uid(of: panel["datasource"])), "\(title): panel datasource")
                let targets = panel["targets"] as? [[String: Any]] ?? []
                #expect(!targets.isEmpty, "\(title)")
                for target in targets {
                    let datasource = Self.uid(of: target["datasource"])
                    #expect(uids.contains(datasource), "\(title): target datasource \(datasource)")
                    guard datasource == Self.postgresUID else { continue }
                    let sql = try #require(target["rawSql"] as? String, "\(title)")
                    let rows = try Self.run(sql, as: reader, in: range, label: title)
                    if target["format"] as? String == "time_series" {
                        // Grafana needs a "time" column in time series results.
                        _ = try reader.execute(
                            #"SELECT "time" FROM ("# + range.expand(sql) + ") AS panel_query LIMIT 1")
                    }
                    ran += 1
                    if rows == 0 { empty.append(title) }
                }
            }
        }
        #expect(ran >= 19)
        // Nothing made a gap here, so its table is empty; every other panel has rows.
        #expect(empty == ["pipeline-health.json: Gaps detected"])

        var ruleUIDs: Set<String> = []
        for rule in try Self.alertRules() {
            let uid = try #require(rule["uid"] as? String)
            #expect(ruleUIDs.insert(uid).inserted, "duplicate rule uid \(uid)")
            #expect(rule["condition"] as? String != nil, "\(uid)")
            for query in rule["data"] as? [[String: Any]] ?? [] {
                let datasource = query["datasourceUid"] as? String ?? ""
                #expect(uids.contains(datasource) || datasource == "__expr__", "\(uid): datasource \(datasource)")
                guard datasource == Self.postgresUID else { continue }
                let model = query["model"] as? [String: Any] ?? [:]
                let sql = try #require(model["rawSql"] as? String, "\(uid)")
                // One numeric row, so the reduce and threshold expressions always have a value.
                #expect(try Self.run(sql, as: reader, in: range, label: uid) == 1, "\(uid)")
            }
        }
        #expect(ruleUIDs.count == 5)
    }

    @Test("Grafana's macro expansion as the test performs it")
    func macroExpansion() {
        let range = GrafanaTimeRange(
            from: Date(timeIntervalSince1970: 1_492_750_877), to: Date(timeIntervalSince1970: 1_492_751_177))
        #expect(
            range.expand("SELECT $__timeGroupAlias(bucket, $__interval) WHERE $__timeFilter(bucket)")
                == #"SELECT floor(extract(epoch from bucket)/60)*60 AS "time" WHERE "#
                + "bucket BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z'")
        #expect(range.expand("$__timeGroup(t, '5m')") == "floor(extract(epoch from t)/300)*300")
        #expect(range.expand("$__unixEpochFilter(e)") == "e >= 1492750877 AND e <= 1492751177")
    }

    // MARK: - Reading the provisioning

    /// Runs one panel or rule query as the reader; returns its row count.
    static func run(_ sql: String, as reader: PQConnection, in range: GrafanaTimeRange, label: String) throws -> Int {
        let lowered = sql.lowercased()
        #expect(!lowered.contains("staging.") && !lowered.contains("etl."), "\(label): reads staging or etl")
        #expect(lowered.contains("analytics."), "\(label): reads no analytics view")
        let expanded = range.expand(sql)
        #expect(!expanded.contains("$__") && !expanded.contains("unknown_grafana_macro"), "\(label): \(expanded)")
        do {
            return try reader.execute(expanded).rowCount
        } catch {
            Issue.record("\(label): \(error)\n\(expanded)")
            return 0
        }
    }

    static func uid(of datasource: Any?) -> String {
        (datasource as? [String: Any])?["uid"] as? String ?? "<no {type, uid}>"
    }

    /// The `uid:` lines of the datasource provisioning (flat YAML we write ourselves).
    static func datasourceUIDs() throws -> Set<String> {
        let text = try String(
            contentsOfFile: grafanaRoot + "/provisioning/datasources/datasources.yaml", encoding: .utf8)
        #expect(text.contains("password: ${PIPELINE_GRAFANA_PASSWORD}"), "password from the environment only")
        return Set(
            text.split(separator: "\n").compactMap { line in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("uid:") else { return nil }
                return trimmed.dropFirst(4).trimmingCharacters(in: .whitespaces)
            })
    }

    static func dashboards() throws -> [(String, [String: Any])] {
        let directory = grafanaRoot + "/dashboards"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
            .sorted()
        #expect(files == ["pipeline-health.json", "user-activity.json"])
        return try files.map { file in
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
            return (file, try #require(JSONSerialization.jsonObject(with: data) as? [String: Any], "\(file)"))
        }
    }

    /// alerts.yaml is JSON (valid YAML) after its leading `#` comment lines.
    static func alertRules() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: grafanaRoot + "/provisioning/alerting/alerts.yaml", encoding: .utf8)
        let json = text.split(separator: "\n", omittingEmptySubsequences: false)
            .drop { $0.hasPrefix("#") }.joined(separator: "\n")
        let document = try #require(
            JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "alerts.yaml: JSON after comments")
        #expect(document["apiVersion"] as? Int == 1)
        let groups = document["groups"] as? [[String: Any]] ?? []
        return groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
    }
}

/// A dashboard time range and Grafana's PostgreSQL macros over it
/// (grafana/pkg/tsdb/grafana-postgresql-datasource/macros.go), at a 1-minute `$__interval`.
struct GrafanaTimeRange {
    var from: Date
    var to: Date
    var intervalSeconds = 60

    func expand(_ sql: String) -> String {
        var result = sql.replacingOccurrences(of: "$__interval_ms", with: String(intervalSeconds * 1000))
            .replacingOccurrences(of: "$__interval", with: "\(intervalSeconds / 60)m")
        let pattern = try! NSRegularExpression(pattern: #"\$__(\w+)\(([^()]*)\)"#)
        while let match = pattern.firstMatch(in: result, range: NSRange(result.startIndex..., in: result)) {
            let whole = Range(match.range, in: result)!
            let name = String(result[Range(match.range(at: 1), in: result)!])
            let arguments = result[Range(match.range(at: 2), in: result)!].split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            result.replaceSubrange(whole, with: macro(name, arguments))
        }
        return result
    }

    private func macro(_ name: String, _ arguments: [String]) -> String {
        let column = arguments.first ?? ""
        switch name {
        case "time": return "\(column) AS \"time\""
        case "timeEpoch": return "extract(epoch from \(column)) AS \"time\""
        case "timeFilter": return "\(column) BETWEEN '\(Self.rfc3339(from))' AND '\(Self.rfc3339(to))'"
        case "timeFrom": return "'\(Self.rfc3339(from))'"
        case "timeTo": return "'\(Self.rfc3339(to))'"
        case "timeGroup", "timeGroupAlias":
            let seconds = Self.seconds(arguments.count > 1 ? arguments[1] : "1m")
            let group = "floor(extract(epoch from \(column))/\(seconds))*\(seconds)"
            return name == "timeGroup" ? group : group + " AS \"time\""
        case "unixEpochFilter":
            return "\(column) >= \(Int(from.timeIntervalSince1970)) AND \(column) <= \(Int(to.timeIntervalSince1970))"
        default: return "unknown_grafana_macro_\(name)()"  // fails when run, naming the macro
        }
    }

    /// Grafana's interval strings ('5m', 1h, 30s, 1d) in seconds.
    static func seconds(_ interval: String) -> Int {
        let text = interval.trimmingCharacters(in: CharacterSet(charactersIn: "' "))
        let value = Int(text.dropLast()) ?? 1
        switch text.last {
        case "s": return value
        case "h": return value * 3600
        case "d": return value * 86_400
        default: return value * 60
        }
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
