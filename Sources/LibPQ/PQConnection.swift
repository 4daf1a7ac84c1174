import CLibPQ
import Glibc

/// One libpq connection. Not Sendable: libpq forbids concurrent use of one
/// `PGconn`, so a connection is created by the task that uses it and never
/// leaves it. Every value travels as a parameter (`PQexecParams`), never
/// spliced into SQL text.
public final class PQConnection {
    private let conn: OpaquePointer

    /// Connects from a libpq conninfo string or a `postgresql://` URI.
    public init(_ conninfo: String) throws {
        // Parsed first: libpq's own error for an unparsable string would quote it, password and all.
        let parsed = try ConnectionString(conninfo)
        guard let conn = PQconnectdb(conninfo) else {
            throw PostgresError(
                message: "libpq could not allocate a connection", remedy: "The process is out of memory.")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            // The message names host, port and the reason; scrubbed of the secrets all the same,
            // since its wording is libpq's, not ours.
            let reason = parsed.masking(PostgresError.connectionMessage(conn))
            let error = PostgresError(
                message: "cannot connect to PostgreSQL: \(reason)",
                remedy: "Check --database (host, port, user, database name) and that the server is running.",
                connectionLost: true)
            PQfinish(conn)
            throw error
        }
        self.conn = conn
        // NOTICEs (e.g. "relation already exists, skipping") would go to stderr; callers log what matters.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit { PQfinish(conn) }

    public func withConnPointer<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T { try body(conn) }

    /// False once libpq has seen the connection break.
    public var isAlive: Bool { PQstatus(conn) == CONNECTION_OK }

    /// The server process id, for `pg_terminate_backend` in tests and for logs.
    public var backendPID: Int32 { PQbackendPID(conn) }

    /// Runs one statement with text parameters ($1, $2, ...; nil is SQL NULL).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> PQResult {
        let result = withCStringArray(parameters) { values in
            PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try check(result, accepting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs BEGIN, the body, COMMIT; ROLLBACK if the body throws (and rethrows).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isAlive { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Validates a finished result, owning it either way.
    func check(_ raw: OpaquePointer?, accepting statuses: [ExecStatusType]) throws -> PQResult {
        guard let raw else { throw PostgresError(connection: conn, context: "query failed") }
        let result = PQResult(raw)
        let status = PQresultStatus(raw)
        guard statuses.contains(status) else {
            if status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR {
                throw PostgresError(result: raw, connection: conn)
            }
            throw PostgresError(message: "unexpected result status \(String(cString: PQresStatus(status)))")
        }
        return result
    }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings` (nil → NULL).
private func withCStringArray<T>(
    _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) throws -> T
) rethrows -> T {
    if strings.isEmpty { return try body(nil) }
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { copies.forEach { free($0) } }
    return try copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { try body($0.baseAddress) }
}

extension PQConnection {
    /// Runs a script of several statements with no parameters (`PQexec`, the
    /// simple query protocol): for migration files only, never for values.
    public func executeScript(_ sql: String) throws {
        _ = try withConnPointer { conn in
            try check(PQexec(conn, sql), accepting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY])
        }
    }
}
