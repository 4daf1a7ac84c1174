import LibPQ
import PipelineCore

/// Every COPY the sink sends goes through here: the rows' writers (EventBatch, SessionPieces,
/// PartialAggregates) write rows only, and this is where a COPY's format is named and, for
/// binary, the format's header and trailer are sent around them (CopyBinary).
extension PostgresEventSink {
    enum CopyFormat {
        /// Tab-separated, escaped text: the reject rows.
        case text
        /// `FORMAT binary`: the events, their claims, the partial aggregates and the session pieces.
        case binary
    }

    /// COPYs what `rows` writes through the closure it is given; throws `InexactSum` (the COPY
    /// cancelled) when `rows` returns false.
    func copyRows(
        into target: String, format: CopyFormat, on connection: PQConnection,
        _ rows: ((ArraySlice<UInt8>) throws -> Void) throws -> Bool
    ) throws {
        let options = format == .binary ? " (FORMAT binary)" : ""
        _ = try connection.copyIn("COPY \(target) FROM STDIN\(options)") { writer in
            if format == .binary { try CopyBinary.header.withUnsafeBytes { try writer.write($0) } }
            let complete = try rows { chunk in try chunk.withUnsafeBytes { try writer.write($0) } }
            guard complete else { throw InexactSum() }
            if format == .binary { try CopyBinary.trailer.withUnsafeBytes { try writer.write($0) } }
        }
    }

    /// COPYs rows already made, in chunks of `copyChunkBytes`; nothing at all when there are none.
    func copy(_ rows: ArraySlice<UInt8>, into target: String, format: CopyFormat, on connection: PQConnection)
        throws
    {
        guard !rows.isEmpty else { return }
        try copyRows(into: target, format: format, on: connection) { write in
            var start = rows.startIndex
            while start < rows.endIndex {
                let end = min(rows.endIndex, start + Self.copyChunkBytes)
                try write(rows[start..<end])
                start = end
            }
            return true
        }
    }
}
