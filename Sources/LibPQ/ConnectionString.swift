import Foundation

/// Helpers for database URLs that must appear in logs and errors.
public enum ConnectionString {
    /// The URL or conninfo with any password replaced by `***`.
    public static func redacted(_ conninfo: String) -> String {
        if let schemeEnd = conninfo.range(of: "://") {
            // postgresql://user:password@host/db → postgresql://user:***@host/db
            let rest = conninfo[schemeEnd.upperBound...]
            guard let at = rest.lastIndex(of: "@") else { return redactQuery(conninfo) }
            let userInfo = rest[..<at]
            guard let colon = userInfo.firstIndex(of: ":") else { return redactQuery(conninfo) }
            return redactQuery(String(conninfo[..<colon]) + ":***" + String(conninfo[at...]))
        }
        // key=value conninfo: password=secret or password='se cret'
        var words: [String] = []
        var skipQuoted = false
        for word in conninfo.split(separator: " ", omittingEmptySubsequences: false) {
            if skipQuoted {
                if word.hasSuffix("'") { skipQuoted = false }
                continue
            }
            if word.lowercased().hasPrefix("password=") {
                words.append("password=***")
                let value = word.dropFirst("password=".count)
                skipQuoted = value.hasPrefix("'") && (value.count == 1 || !value.hasSuffix("'"))
            } else {
                words.append(String(word))
            }
        }
        return words.joined(separator: " ")
    }

    /// ?password=... in a URI's query string.
    private static func redactQuery(_ uri: String) -> String {
        guard let question = uri.firstIndex(of: "?") else { return uri }
        let query = uri[uri.index(after: question)...].split(separator: "&").map { pair in
            pair.lowercased().hasPrefix("password=") ? "password=***" : String(pair)
        }
        return String(uri[...question]) + query.joined(separator: "&")
    }
}
