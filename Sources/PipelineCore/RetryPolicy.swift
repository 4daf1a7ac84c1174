/// Errors that know whether retrying can help. The sink's errors adopt it:
/// a lost connection is worth retrying, a missing table is not.
public protocol RetryClassifiable: Error {
    var isWorthRetrying: Bool { get }
}
