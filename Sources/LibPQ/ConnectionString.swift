import CLibPQ

/// A connection string as libpq itself reads it. `PQconninfoParse` parses both
/// forms (`postgresql://` URIs with percent-encoding, several hosts and query
/// parameters; key/value strings with quotes, backslash escapes and spaces around
/// `=`), so what is redacted is exactly what `PQconnectdb` would use: nothing
/// here parses a connection string by hand.
public struct ConnectionString: Sendable, CustomStringConvertible {
    /// Values in the clear, passwords included: they stay inside this module, which shows
    /// other modules the redacted form only.
    struct Option: Sendable, Equatable {
        let keyword: String
        let value: String
        /// libpq marks password fields (`password`, `sslpassword`) with dispchar `*`: never shown.
        let isSecret: Bool
    }

    /// The options the string sets, in libpq's keyword order.
    let options: [Option]

    /// Parses `text`; an unparsable string throws an error that never quotes it.
    public init(_ text: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(text, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0) }
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(
                message: "the database connection string cannot be parsed: "
                    + (reason.map(Self.withoutQuotedInput) ?? "libpq ran out of memory"),
                remedy: Self.syntaxRemedy)
        }
        defer { PQconninfoFree(parsed) }
        options = Self.options(in: parsed).filter { $0.value != nil }.map {
            Option(keyword: $0.keyword, value: $0.value ?? "", isSecret: $0.isSecret)
        }
    }

    public static let syntaxRemedy =
        "Give a postgresql://user@host:port/dbname URI or key=value pairs (host=... dbname=...), as libpq documents them"

    /// key=value pairs with every secret as `***`: safe for logs and errors.
    public var redacted: String {
        options.map { $0.keyword + "=" + ($0.isSecret ? "***" : Self.quoted($0.value)) }.joined(separator: " ")
    }

    public var description: String { redacted }

    /// The secrets as libpq read them (percent-decoded, unquoted).
    var secrets: [String] { options.filter(\.isSecret).map(\.value).filter { !$0.isEmpty } }

    /// The redacted form of `text`, or a placeholder when libpq cannot parse it.
    public static func redacted(_ text: String) -> String {
        (try? ConnectionString(text))?.redacted ?? "(unparsable connection string)"
    }

    /// `message` with each secret masked, for messages worded by libpq, not by us.
    func masking(_ message: String) -> String {
        var masked = message
        // A secret of a few characters would mask ordinary words; libpq never prints one anyway.
        for secret in secrets where secret.count >= 4 { masked = masked.replacing(secret, with: "***") }
        return masked
    }

    // MARK: - libpq's option array

    private static func options(in array: UnsafeMutablePointer<PQconninfoOption>) -> [(
        keyword: String, value: String?, isSecret: Bool
    )] {
        var found: [(keyword: String, value: String?, isSecret: Bool)] = []
        var option = array
        while let keyword = option.pointee.keyword {
            let isSecret = option.pointee.dispchar.map { String(cString: $0).contains("*") } ?? false
            found.append((String(cString: keyword), option.pointee.val.map { String(cString: $0) }, isSecret))
            option += 1
        }
        return found
    }

    /// Every keyword libpq knows (from parsing an empty string, which sets none).
    private static let keywords: Set<String> = {
        guard let parsed = PQconninfoParse("", nil) else { return [] }
        defer { PQconninfoFree(parsed) }
        return Set(options(in: parsed).map(\.keyword))
    }()

    /// libpq's parse errors quote what they stumbled on: the whole URI
    /// (`... in URI: "postgresql://user:secret@[::1/db"`), a query parameter or a
    /// percent-encoded token, any of which may be the password. Quoted text stays
    /// only when it is a single character or one of libpq's own keywords.
    static func withoutQuotedInput(_ message: String) -> String {
        let parts = message.trimmingTrailingWhitespace().split(separator: "\"", omittingEmptySubsequences: false)
        return parts.enumerated().map { index, part in
            guard index % 2 == 1 else { return String(part) }  // outside quotes
            return part.count <= 1 || keywords.contains(String(part)) ? String(part) : "…"
        }.joined(separator: "\"")
    }

    /// A value as a key/value string writes it: quoted when empty or holding a space, quote or backslash.
    private static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "'" || $0 == "\\" || $0.isWhitespace })
        else { return value }
        var text = "'"
        for character in value {
            if character == "'" || character == "\\" { text.append("\\") }
            text.append(character)
        }
        return text + "'"
    }
}
