/// Bytes that are not a sketch this module can read: `HyperLogLog(serialized:)` reads only schema
/// version 1 with its own parameters (`hll_add_agg(…, 14, 5, -1, 1)`).
public struct SketchError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }

        public static let truncated = Code("truncated")
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// Another log2m, regwidth, expthresh or sparse setting, or an UNDEFINED sketch.
        public static let unsupportedParameters = Code("unsupportedParameters")
        public static let unsupportedType = Code("unsupportedType")
        public static let inconsistentLength = Code("inconsistentLength")
        public static let unorderedExplicit = Code("unorderedExplicit")
    }

    public let code: Code
    public let detail: String

    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        "not a sketch built by hll_add_agg(…, 14, 5, -1, 1) (\(code): \(detail)); "
            + "rebuild it with those parameters, or compare it in SQL with hll_print"
    }
}
