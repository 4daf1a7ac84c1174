import CLibPQ

/// Owns one `PGresult`; `PQclear` in `deinit`. Values are read as text.
public final class PQResult {
    private let result: OpaquePointer

    init(_ result: OpaquePointer) { self.result = result }
    deinit { PQclear(result) }

    public var rowCount: Int { Int(PQntuples(result)) }
    public var columnCount: Int { Int(PQnfields(result)) }

    /// Rows affected by INSERT/UPDATE/DELETE/COPY (`PQcmdTuples`), 0 when not applicable.
    public var affectedRows: Int {
        guard let text = PQcmdTuples(result) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    /// The text value at (row, column); nil for SQL NULL.
    public func value(_ row: Int, _ column: Int) -> String? {
        guard PQgetisnull(result, Int32(row), Int32(column)) == 0,
            let raw = PQgetvalue(result, Int32(row), Int32(column))
        else { return nil }
        return String(cString: raw)
    }

    public func int64(_ row: Int, _ column: Int) -> Int64? { value(row, column).flatMap { Int64($0) } }

    public func withResultPointer<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T { try body(result) }
}
