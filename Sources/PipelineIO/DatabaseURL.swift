import LibPQ

/// A database URL as the commands take it, checked by libpq's own parser before
/// anything connects, and its redacted form for logs.
public enum DatabaseURL {
    public enum Check: Sendable, Equatable {
        /// libpq reads it; every password in it shown as `***`.
        case valid(redacted: String)
        /// libpq cannot read it; the reason never quotes the string (it may hold a password).
        case invalid(reason: String)
    }

    public static func check(_ text: String) -> Check {
        do {
            return .valid(redacted: try ConnectionString(text).redacted)
        } catch let error as PostgresError {
            return .invalid(reason: error.message)
        } catch {
            return .invalid(reason: "libpq cannot parse it")
        }
    }

    /// For logs: the URL with every password as `***`.
    public static func redacted(_ text: String) -> String { ConnectionString.redacted(text) }
}
