/// The Prometheus text format read back into numbers: `value("name", ["label": "v"])`.
struct Exposition {
    /// "name{a="1",b="2"}" (labels as written) → value.
    private(set) var series: [String: Double] = [:]
    let text: String

    init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            series[String(line[..<space])] = value
        }
    }

    /// The series of `name` with exactly these labels (in any order).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        series.first { key, _ in Self.parse(key) == (name, labels) }?.value
    }

    /// Sum over every series of `name`.
    func sum(_ name: String) -> Double {
        series.filter { Self.parse($0.key).name == name }.values.reduce(0, +)
    }

    private static func parse(_ key: String) -> (name: String, labels: [String: String]) {
        guard let brace = key.firstIndex(of: "{") else { return (key, [:]) }
        var labels: [String: String] = [:]
        for pair in key[key.index(after: brace)..<key.index(before: key.endIndex)].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
        }
        return (String(key[..<brace]), labels)
    }
}
