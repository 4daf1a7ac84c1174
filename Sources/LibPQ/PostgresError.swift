import CLibPQ

/// The one error type of the PostgreSQL wrapper: what failed, the server's
/// SQLSTATE when there is one, and what to do about it.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// A PostgreSQL SQLSTATE. Static lets, not an enum, so the list can grow.
    public struct SQLState: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let uniqueViolation = SQLState("23505")
        public static let checkViolation = SQLState("23514")
        public static let notNullViolation = SQLState("23502")
        public static let serializationFailure = SQLState("40001")
        public static let deadlockDetected = SQLState("40P01")
        public static let lockNotAvailable = SQLState("55P03")
        public static let queryCanceled = SQLState("57014")
        public static let adminShutdown = SQLState("57P01")
        public static let crashShutdown = SQLState("57P02")
        public static let cannotConnectNow = SQLState("57P03")
        public static let tooManyConnections = SQLState("53300")
        public static let undefinedTable = SQLState("42P01")
        public static let insufficientPrivilege = SQLState("42501")
        public static let invalidTextRepresentation = SQLState("22P02")
        public static let characterNotInRepertoire = SQLState("22021")
        public static let untranslatableCharacter = SQLState("22P05")

        /// Class 08: connection exceptions.
        public var isConnectionException: Bool { sqlClass == .connectionException }

        /// The first two characters: what kind of error, whatever the exact condition.
        public var sqlClass: Class { Class(String(rawValue.prefix(2))) }

        /// A SQLSTATE class (PostgreSQL's Appendix A). Static lets, like the states.
        public struct Class: Hashable, Sendable, CustomStringConvertible {
            public let rawValue: String
            public init(_ rawValue: String) { self.rawValue = rawValue }
            public var description: String { rawValue }

            public static let connectionException = Class("08")
            public static let dataException = Class("22")
            public static let integrityConstraintViolation = Class("23")
            public static let invalidAuthorizationSpecification = Class("28")
            public static let invalidCatalogName = Class("3D")
            public static let invalidSchemaName = Class("3F")
            public static let syntaxErrorOrAccessRuleViolation = Class("42")
            public static let programLimitExceeded = Class("54")
        }
    }

    public var sqlState: SQLState?
    /// The server's (or libpq's) primary message.
    public var message: String
    public var detail: String?
    /// What the operator should do, where we know.
    public var remedy: String?
    /// The connection is unusable after this error: reconnect before retrying.
    public var connectionLost: Bool

    public init(
        sqlState: SQLState? = nil, message: String, detail: String? = nil, remedy: String? = nil,
        connectionLost: Bool = false
    ) {
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.remedy = remedy
        self.connectionLost = connectionLost
    }

    /// Errors worth retrying on the same or a new connection: lost connections,
    /// server shutdowns, serialization failures, deadlocks, lock and statement timeouts.
    public var isTransient: Bool {
        if connectionLost { return true }
        guard let sqlState else { return false }
        if sqlState.isConnectionException { return true }
        let transient: Set<SQLState> = [
            .serializationFailure, .deadlockDetected, .lockNotAvailable, .queryCanceled,
            .adminShutdown, .crashShutdown, .cannotConnectNow, .tooManyConnections,
        ]
        return transient.contains(sqlState)
    }

    public var description: String {
        var text = "PostgreSQL error"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let detail { text += " (\(detail))" }
        if let remedy { text += ". \(remedy)" }
        return text
    }
}

extension PostgresError {
    /// Builds the error from a failed result's diagnostic fields.
    init(result: OpaquePointer, connection: OpaquePointer, remedy: String? = nil) {
        func field(_ code: UInt8) -> String? {
            guard let value = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: value)
        }
        let primary = field(UInt8(ascii: "M")) ?? Self.connectionMessage(connection)
        let lost = PQstatus(connection) == CONNECTION_BAD
        self.init(
            sqlState: field(UInt8(ascii: "C")).map(SQLState.init), message: primary,
            detail: field(UInt8(ascii: "D")), remedy: remedy ?? (lost ? Self.reconnectRemedy : nil),
            connectionLost: lost)
    }

    /// An error that libpq reports on the connection rather than on a result.
    init(connection: OpaquePointer, context: String) {
        let lost = PQstatus(connection) == CONNECTION_BAD
        self.init(
            message: "\(context): \(Self.connectionMessage(connection))",
            remedy: lost ? Self.reconnectRemedy : nil, connectionLost: lost)
    }

    static func connectionMessage(_ connection: OpaquePointer) -> String {
        guard let raw = PQerrorMessage(connection) else { return "unknown libpq error" }
        let text = String(cString: raw).trimmingTrailingWhitespace()
        return text.isEmpty ? "unknown libpq error" : text
    }

    static let reconnectRemedy = "The connection to PostgreSQL was lost; it is re-established and the work retried."
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var view = Substring(self)
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
