// Writes a Swift file holding every `.sql` file of a migrations folder (the top and one level
// below) as raw string literals, for the EmbedMigrations build-tool plugin.
//
//   MigrationEmbedder <migrations folder> <output.swift>
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder <migrations folder> <output.swift>\n".utf8))
    exit(64)
}
let folder = URL(fileURLWithPath: arguments[1])
let manager = FileManager.default

var paths: [String] = []
for name in try manager.contentsOfDirectory(atPath: folder.path).sorted() {
    if name.hasSuffix(".sql") {
        paths.append(name)
    } else if let inner = try? manager.contentsOfDirectory(atPath: folder.appendingPathComponent(name).path) {
        paths += inner.filter { $0.hasSuffix(".sql") }.sorted().map { "\(name)/\($0)" }
    }
}

/// A raw string delimiter no file can end early: more `#` than any `"""#…` or `\#…` run in it.
func delimiter(for text: String) -> String {
    var hashes = 1
    while text.contains("\"\"\"" + String(repeating: "#", count: hashes))
        || text.contains("\\" + String(repeating: "#", count: hashes))
    {
        hashes += 1
    }
    return String(repeating: "#", count: hashes)
}

var out = """
    // Generated at build time by the EmbedMigrations plugin from migrations/; not in git.
    enum EmbeddedMigrationFiles {
        static let all: [(path: String, sql: String)] = [

    """
for path in paths {
    let sql = try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8)
    let hashes = delimiter(for: sql)
    // A multi-line literal drops the line break before its closing delimiter, and with the
    // delimiter at column 0 no indentation is stripped: the text comes back byte for byte.
    out += "        (path: \"\(path)\", sql: \(hashes)\"\"\"\n\(sql)\n\"\"\"\(hashes)),\n"
}
out += "    ]\n}\n"
try out.write(to: URL(fileURLWithPath: arguments[2]), atomically: true, encoding: .utf8)
