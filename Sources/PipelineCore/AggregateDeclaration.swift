import EventContract

/// One row of `etl.aggregates` (migration 0020), as the worker reads it to aggregate each batch
/// itself: the same vocabulary `etl.aggregate_partials_statement` builds its SQL from, and
/// nothing else (a declaration outside it leaves the batch to the refresh).
public struct AggregateDeclaration: Sendable, Equatable {
    /// Columns of `etl.aggregate_inputs` an aggregate may group by, in `etl.batch_partials`' order.
    public enum Dimension: String, Sendable, CaseIterable {
        case eventType = "event_type"
        case page, country, currency, service, level
    }

    /// The row conditions of `etl.aggregate_row_condition`.
    public enum RowCondition: String, Sendable {
        case inSession = "in_session"
        case viewed, clicked
        case addedToCart = "added_to_cart"
        case paid
    }

    public enum Measure: Sendable, Equatable {
        case count(when: RowCondition?)
        case sumOfAmount(when: RowCondition?)
        case distinctUsers(when: RowCondition?)
        case distinctSessions(when: RowCondition?)

        var condition: RowCondition? {
            switch self {
            case .count(let when), .sumOfAmount(let when), .distinctUsers(let when), .distinctSessions(let when):
                when
            }
        }
    }

    public var name: String
    /// Whole minutes dividing an hour (0020's check).
    public var bucketWidthMicros: Int64
    /// nil: every type.
    public var eventTypes: Set<EventType>?
    public var onlyRows: RowCondition?
    public var dimensions: [Dimension]
    public var measures: [Measure]

    public init(
        name: String, bucketWidthMicros: Int64, eventTypes: Set<EventType>?, onlyRows: RowCondition?,
        dimensions: [Dimension], measures: [Measure]
    ) {
        self.name = name
        self.bucketWidthMicros = bucketWidthMicros
        self.eventTypes = eventTypes
        self.onlyRows = onlyRows
        self.dimensions = dimensions
        self.measures = measures
    }
}
