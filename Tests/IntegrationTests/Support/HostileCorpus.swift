import Foundation

/// Hostile messages, each labelled BY HAND with the verdict the contract
/// (shared/contract/events.md) gives it: accepted, or the reason code. The
/// labels are the oracle; nothing here asks the validator.
struct HostileCorpus {
    struct Entry {
        var name: String
        /// nil: a tombstone.
        var bytes: [UInt8]?
        /// nil: a valid event; else the reason code.
        var reason: String?
        /// For a valid one: the event_id it must be stored under, and the user_id column's text.
        var eventID: String? = nil
        var userID: String? = nil
    }

    private(set) var entries: [Entry] = []
    private var serial = 0

    private mutating func nextID() -> String {
        serial += 1
        return String(format: "00000000-0000-4000-8000-%012x", serial)
    }

    /// An event whose extra field "x" holds `value` (raw bytes spliced in as they are).
    private mutating func event(
        x value: [UInt8], user: [UInt8] = Array("u-hostile".utf8), type: String = "page_view", id: String? = nil
    ) -> (bytes: [UInt8], id: String) {
        let id = id ?? nextID()
        let head = #"{"event_id":"\#(id)","event_type":"\#(type)","event_time":"2025-06-01T10:00:00Z","user_id":""#
        return (Array(head.utf8) + user + Array(#"","x":"#.utf8) + value + Array("}".utf8), id)
    }

    private mutating func good(_ name: String, x value: [UInt8], user: [UInt8]? = nil, userText: String = "u-hostile") {
        let made = event(x: value, user: user ?? Array("u-hostile".utf8))
        entries.append(Entry(name: name, bytes: made.bytes, reason: nil, eventID: made.id, userID: userText))
    }

    private mutating func bad(_ name: String, x value: [UInt8], reason: String, user: [UInt8]? = nil) {
        entries.append(
            Entry(name: name, bytes: event(x: value, user: user ?? Array("u-hostile".utf8)).bytes, reason: reason))
    }

    private mutating func whole(_ name: String, _ bytes: [UInt8]?, reason: String) {
        entries.append(Entry(name: name, bytes: bytes, reason: reason))
    }

    static func q(_ text: String) -> [UInt8] { Array(("\"" + text + "\"").utf8) }
    static func quoted(_ bytes: [UInt8]) -> [UInt8] { [0x22] + bytes + [0x22] }

    init(includeHuge: Bool = true) {
        let q = Self.q, quoted = Self.quoted
        // Invalid UTF-8, every class: PostgreSQL refuses the bytes before parsing JSON.
        for (name, bytes) in [
            ("overlong 2-byte", [0xC0, 0xAF]), ("overlong 3-byte", [0xE0, 0x80, 0xAF]),
            ("overlong 4-byte", [0xF0, 0x80, 0x80, 0xAF]), ("UTF-16 surrogate encoded", [0xED, 0xA0, 0x80]),
            ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]), ("lead byte F5", [0xF5, 0x80, 0x80, 0x80]),
            ("byte FF", [0xFF]), ("lone continuation", [0x80]), ("truncated 2-byte", [0xC3]),
            ("truncated 3-byte", [0xE2, 0x82]), ("truncated 4-byte", [0xF0, 0x9F, 0x98]), ("latin-1 e acute", [0xE9]),
            ("raw NUL byte", [0x00]),
        ] as [(String, [UInt8])] {
            bad(
                "invalid UTF-8 in a value: \(name)", x: quoted(Array("a".utf8) + bytes + Array("b".utf8)),
                reason: "invalid_utf8")
        }
        bad("invalid UTF-8 in user_id", x: q("v"), reason: "invalid_utf8", user: [0x75, 0xC3, 0x28])
        whole("invalid UTF-8 after the object", event(x: q("v")).bytes + [0x20, 0xFF], reason: "invalid_utf8")

        // Escapes: surrogates, NUL, controls.
        bad("lone high surrogate escape", x: q(#"\ud800"#), reason: "invalid_json")
        bad("lone low surrogate escape", x: q(#"\udc00"#), reason: "invalid_json")
        bad("reversed surrogate pair", x: q(#"\ude00\ud83d"#), reason: "invalid_json")
        bad("high surrogate then letter escape", x: q(#"\ud83d\u0041"#), reason: "invalid_json")
        bad("high surrogate at end of string", x: q(#"ab\ud83d"#), reason: "invalid_json")
        good("paired surrogate escapes", x: q(#"\ud83d\ude00 and \uD834\uDD1E"#))
        bad("\\u0000 escape", x: q(#"a\u0000b"#), reason: "nul_escape")
        bad("\\u0000 escape in a key", x: Array(#"{"k\u0000":1}"#.utf8), reason: "nul_escape")
        good("escaped controls \\u0001 \\u001f \\b \\f", x: q(#"\u0001\u001f\b\f\r"#))
        good("escaped BOM and U+2028", x: q(#"\ufeff\u2028\u2029"#))
        for byte: UInt8 in [0x01, 0x09, 0x0A, 0x0D, 0x1F] {
            bad(
                String(format: "raw control 0x%02X in a string", byte), x: quoted([0x61, byte, 0x62]),
                reason: "invalid_json")
        }
        good("raw DEL in a string", x: quoted([0x61, 0x7F, 0x62]))
        good("raw BOM inside a string", x: quoted([0xEF, 0xBB, 0xBF, 0x61]))
        good("raw U+2028 U+2029 inside a string", x: quoted([0xE2, 0x80, 0xA8, 0x61, 0xE2, 0x80, 0xA9]))
        good("raw noncharacter U+FFFF and U+10FFFF", x: quoted([0xEF, 0xBF, 0xBF, 0xF4, 0x8F, 0xBF, 0xBF]))
        whole("byte-order mark before the object", [0xEF, 0xBB, 0xBF] + event(x: q("v")).bytes, reason: "invalid_json")
        bad("invalid escape \\x", x: q(#"\x41"#), reason: "invalid_json")
        bad("short \\u escape", x: q(#"\u12"#), reason: "invalid_json")

        // COPY text-format specials: must reach payload and user_id byte for byte.
        good("COPY specials: escaped tab, newline, CR", x: q(#"a\tb\nc\rd"#))
        good("COPY specials: backslashes", x: q(#"a\\b\\\\c\\"#))
        good("COPY specials: \\N as text", x: q(#"\\N"#))
        good("COPY specials: a lone N and a period", x: q(#"N"#))
        good("COPY specials: quotes", x: q(#"say \"hi\" 'there'"#))
        good("COPY specials: in a key", x: Array(#"{"t\tab\\N\nk":"\\."}"#.utf8))
        good(
            "COPY specials: user_id with tab, backslash, \\N", x: q("v"), user: Array(#"u\t\\N\\x"#.utf8),
            userText: "u\t\\N\\x")
        good(
            "COPY specials: user_id with U+2028 escape", x: q("v"), user: Array(#"u\u2028v"#.utf8),
            userText: "u\u{2028}v")
        good("COPY specials: end-of-data marker text", x: q(#"\\.\n\\."#))

        // Depth: the event object is level 1; 64 levels allowed.
        func arrays(_ levels: Int) -> [UInt8] {
            Array(repeating: UInt8(ascii: "["), count: levels) + Array(repeating: UInt8(ascii: "]"), count: levels)
        }
        func objects(_ levels: Int) -> [UInt8] {
            Array(String(repeating: #"{"a":"#, count: levels).utf8) + [0x31]
                + Array(repeating: UInt8(ascii: "}"), count: levels)
        }
        good("depth 64 arrays", x: arrays(63))
        good("depth 64 objects", x: objects(63))
        bad("depth 65 arrays", x: arrays(64), reason: "too_deep")
        bad("depth 65 objects", x: objects(64), reason: "too_deep")
        bad("depth 10000 arrays", x: arrays(9_999), reason: "too_deep")

        // Numbers: PostgreSQL numeric holds 131072 digits before the point, 16383 after.
        good("number 1e131071", x: Array("1e131071".utf8))
        bad("number 1e131072", x: Array("1e131072".utf8), reason: "invalid_value")
        bad("number 1e1000000000", x: Array("1e1000000000".utf8), reason: "invalid_value")
        good("number 1e-16383", x: Array("1e-16383".utf8))
        bad("number 1e-16384", x: Array("1e-16384".utf8), reason: "invalid_value")
        good("number with 400 digits", x: Array(String(repeating: "9", count: 400).utf8))
        good("number 1.7976931348623157e309 (past double)", x: Array("1.7976931348623157e309".utf8))
        good("number -0.0e-0", x: Array("-0.0e-0".utf8))
        bad("number with leading zero", x: Array("012".utf8), reason: "invalid_json")
        bad("number NaN", x: Array("NaN".utf8), reason: "invalid_json")

        // Duplicate keys: the last one counts, as in jsonb.
        do {
            let first = nextID(), last = nextID()
            let bytes = Array(
                #"{"event_id":"\#(first)","event_type":"page_view","event_time":"2025-06-01T10:00:00Z","user_id":"first","user\u005fid":"last","event_id":"\#(last)"}"#
                    .utf8)
            entries.append(
                Entry(
                    name: "duplicate event_id and escaped user_id: last wins", bytes: bytes, reason: nil, eventID: last,
                    userID: "last"))
        }
        do {
            let id = nextID()
            let bytes = Array(
                #"{"event_id":"\#(id)","event_type":"page_view","event_time":"2025-06-01T10:00:00Z","user_id":"u","event_type":"click"}"#
                    .utf8)
            entries.append(
                Entry(name: "duplicate event_type: last (click) needs element", bytes: bytes, reason: "missing_field"))
        }
        do {
            let id = nextID()
            let bytes = Array(
                #"{"event_id":"\#(id)","event_type":"page_view","event_time":"1999-01-01T00:00:00Z","user_id":"u","event_time":"2025-06-01T10:00:00Z"}"#
                    .utf8)
            entries.append(
                Entry(
                    name: "duplicate event_time: a bad one, then a good one", bytes: bytes, reason: nil, eventID: id,
                    userID: "u"))
        }
        bad("duplicate key inside x", x: Array(#"{"k":1,"k":2,"k":{"k":3}}"#.utf8), reason: "will-not-happen")
        entries[entries.count - 1].reason = nil  // valid: duplicates inside unknown fields are jsonb's business
        entries[entries.count - 1].eventID = nil

        // Trailing bytes, empty and null values, not an object.
        good("trailing whitespace", x: q("v"))
        entries[entries.count - 1].bytes! += Array(" \n\t\r ".utf8)
        whole("trailing letter", event(x: q("v")).bytes + Array("x".utf8), reason: "invalid_json")
        whole("two objects", event(x: q("v")).bytes + Array("{}".utf8), reason: "invalid_json")
        whole("trailing raw NUL", event(x: q("v")).bytes + [0x00], reason: "invalid_utf8")
        whole("tombstone", nil, reason: "empty")
        whole("zero bytes", [], reason: "empty")
        whole("whitespace only", Array(" \n".utf8), reason: "invalid_json")
        whole("JSON null", Array("null".utf8), reason: "not_object")
        whole("JSON array", Array("[]".utf8), reason: "not_object")
        whole("JSON string", Array(#""event""#.utf8), reason: "not_object")
        whole("empty object", Array("{}".utf8), reason: "missing_field")
        bad("x is null", x: Array("null".utf8), reason: "will-not-happen")
        entries[entries.count - 1].reason = nil

        // Size: 1 MiB is the default limit, inclusive.
        if includeHuge {
            let limit = 1_048_576
            let shell = event(x: q(""))
            let pad = limit - shell.bytes.count
            good("exactly 1 MiB", x: q(String(repeating: "p", count: pad)))
            bad("1 MiB + 1", x: q(String(repeating: "p", count: pad + 1)), reason: "too_large")
            bad("1.5 MiB", x: q(String(repeating: "p", count: limit + limit / 2)), reason: "too_large")
        }
        // The event_ids of labelled-good entries that did not set one come from the template.
        for index in entries.indices where entries[index].reason == nil && entries[index].eventID == nil {
            let text = String(decoding: entries[index].bytes!.prefix(60), as: UTF8.self)
            if let range = text.range(
                of: #"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}"#, options: .regularExpression)
            {
                entries[index].eventID = String(text[range])
                entries[index].userID = entries[index].userID ?? "u-hostile"
            }
        }
    }
}
