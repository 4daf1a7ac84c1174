import EventContract
import Foundation
import PipelineCore

extension AggregateDeclaration {
    /// Every row of `etl.aggregates` as one JSON array, in name order; then the OID of hll's type
    /// (0019 installs it in public), which the partials' binary COPY names.
    static let declarationsQuery = """
        SELECT coalesce(json_agg(json_build_object(
                   'name', a.name, 'width_seconds', extract(epoch FROM a.bucket_width)::bigint,
                   'event_types', a.event_types, 'only_rows', a.only_rows, 'dimensions', a.dimensions,
                   'measures', a.measures) ORDER BY a.name), '[]')::text,
               'public.hll'::regtype::oid
        FROM etl.aggregates AS a
        """

    private struct Row: Decodable {
        var name: String
        var widthSeconds: Int64
        var eventTypes: [String]?
        var onlyRows: String?
        var dimensions: [String]
        var measures: [MeasureRow]

        enum CodingKeys: String, CodingKey {
            case name, dimensions, measures
            case widthSeconds = "width_seconds"
            case eventTypes = "event_types"
            case onlyRows = "only_rows"
        }
    }

    private struct MeasureRow: Decodable {
        var kind: String?
        var of: String?
        var when: String?
    }

    /// The declarations in `declarationsQuery`'s result; nil when one of them says something
    /// outside the vocabulary the worker knows (the refresh then aggregates from staging, and
    /// `etl.aggregate_partials_statement` names what is wrong).
    static func decodeAll(json: String) -> [AggregateDeclaration]? {
        guard let rows = try? JSONDecoder().decode([Row].self, from: Data(json.utf8)) else { return nil }
        var declarations: [AggregateDeclaration] = []
        for row in rows {
            guard let declaration = AggregateDeclaration(row) else { return nil }
            declarations.append(declaration)
        }
        return declarations
    }

    private init?(_ row: Row) {
        var dimensions: [Dimension] = []
        for name in row.dimensions {
            guard let dimension = Dimension(rawValue: name) else { return nil }
            dimensions.append(dimension)
        }
        var onlyRows: RowCondition?
        if let name = row.onlyRows {
            guard let condition = RowCondition(rawValue: name) else { return nil }
            onlyRows = condition
        }
        var measures: [Measure] = []
        for measure in row.measures {
            var when: RowCondition?
            if let name = measure.when {
                guard let condition = RowCondition(rawValue: name) else { return nil }
                when = condition
            }
            switch (measure.kind, measure.of) {
            case ("count", nil): measures.append(.count(when: when))
            case ("sum", "amount"): measures.append(.sumOfAmount(when: when))
            case ("distinct", "user_id"): measures.append(.distinctUsers(when: when))
            case ("distinct", "session"): measures.append(.distinctSessions(when: when))
            default: return nil
            }
        }
        guard row.widthSeconds > 0, !measures.isEmpty else { return nil }
        // An unknown type name matches no event, in SQL as here.
        let eventTypes = row.eventTypes.map { names in Set(EventType.allCases.filter { names.contains($0.name) }) }
        self.init(
            name: row.name, bucketWidthMicros: row.widthSeconds * 1_000_000, eventTypes: eventTypes,
            onlyRows: onlyRows, dimensions: dimensions, measures: measures)
    }
}
