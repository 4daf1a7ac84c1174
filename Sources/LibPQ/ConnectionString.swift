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

    /// `message` with the conninfo replaced by its redacted form and every
    /// password in it masked: libpq quotes a URI it cannot parse whole
    /// (`invalid URI ... "postgresql://user:secret@[::1/db"`), password included.
    public static func scrubbing(_ message: String, of conninfo: String) -> String {
        var text = message
        if !conninfo.isEmpty { text = text.replacing(conninfo, with: redacted(conninfo)) }
        // Short passwords would mask ordinary words; libpq never prints one on its own anyway.
        for password in passwords(in: conninfo) where password.count >= 4 {
            text = text.replacing(password, with: "***")
        }
        return text
    }

    /// The password(s) a URI or conninfo carries, as written.
    static func passwords(in conninfo: String) -> [String] {
        var found: [String] = []
        if let schemeEnd = conninfo.range(of: "://") {
            let rest = conninfo[schemeEnd.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                found.append(String(authority[authority.index(after: colon)..<at]))
            }
        }
        for word in conninfo.split(whereSeparator: { $0 == " " || $0 == "&" || $0 == "?" }) {
            guard word.lowercased().hasPrefix("password=") else { continue }
            var value = word.dropFirst("password=".count)
            if value.hasPrefix("'") { value = value.dropFirst() }
            if value.hasSuffix("'") { value = value.dropLast() }
            found.append(String(value))
        }
        return found.filter { !$0.isEmpty }
    }
}
