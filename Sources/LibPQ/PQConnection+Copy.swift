import CLibPQ

extension PQConnection {
    /// Streams `COPY ... FROM STDIN`: starts the COPY, lets `body` write chunks
    /// through the writer, ends it and returns the number of rows loaded. If
    /// `body` throws, the COPY is ended with an error (the server discards it)
    /// and the error is rethrown.
    public func copyIn(_ sql: String, _ body: (inout PQCopyWriter) throws -> Void) throws -> Int {
        try withConnPointer { conn in
            _ = try check(PQexec(conn, sql), accepting: [PGRES_COPY_IN])
            var writer = PQCopyWriter(conn: conn)
            do {
                try body(&writer)
            } catch {
                PQputCopyEnd(conn, "cancelled by the client")
                while let pending = PQgetResult(conn) { PQclear(pending) }
                throw error
            }
            guard PQputCopyEnd(conn, nil) == 1 else {
                throw PostgresError(connection: conn, context: "ending COPY failed")
            }
            // One result for the COPY, then NULL; a broken connection can also yield none.
            var copyResult: PQResult?
            var firstError: Error?
            while let raw = PQgetResult(conn) {
                do { copyResult = try check(raw, accepting: [PGRES_COMMAND_OK]) } catch {
                    if firstError == nil { firstError = error }
                }
            }
            if let firstError { throw firstError }
            guard let copyResult else { throw PostgresError(connection: conn, context: "COPY returned no result") }
            return copyResult.affectedRows
        }
    }
}

/// Writes COPY data to the server in whatever chunks the caller has.
public struct PQCopyWriter {
    fileprivate let conn: OpaquePointer

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        let sent = bytes.withMemoryRebound(to: CChar.self) { chars in
            PQputCopyData(conn, chars.baseAddress, Int32(chars.count))
        }
        guard sent == 1 else { throw PostgresError(connection: conn, context: "sending COPY data failed") }
    }

    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}
