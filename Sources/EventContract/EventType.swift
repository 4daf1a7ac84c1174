/// The four kinds of event the contract knows; each has its own required fields.
public enum EventType: UInt8, Sendable, CaseIterable {
    case pageView, click, log, transaction

    /// The wire name, as written in `event_type`.
    public var name: String {
        switch self {
        case .pageView: "page_view"
        case .click: "click"
        case .log: "log"
        case .transaction: "transaction"
        }
    }

    /// Matches decoded `event_type` bytes without building a String.
    static func match(_ bytes: UnsafeRawBufferPointer) -> EventType? {
        if bytes.equals("page_view") { return .pageView }
        if bytes.equals("click") { return .click }
        if bytes.equals("log") { return .log }
        if bytes.equals("transaction") { return .transaction }
        return nil
    }
}

extension UnsafeRawBufferPointer {
    /// Byte comparison with a literal; StaticString keeps the literal out of the heap.
    @inline(__always)
    func equals(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        let lit = literal.utf8Start
        for i in 0..<count where self[i] != lit[i] { return false }
        return true
    }
}
