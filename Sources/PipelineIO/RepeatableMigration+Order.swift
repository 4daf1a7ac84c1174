extension RepeatableMigration {
    /// The object the file defines, named by it: `views/analytics.watermarks.sql` defines
    /// `analytics.watermarks`.
    var objectName: Substring {
        let file = path.split(separator: "/").last ?? Substring(path)
        return file.hasSuffix(".sql") ? file.dropLast(4) : file
    }

    /// `definitions` with each one after the others whose object its text names: a view that reads
    /// `analytics.watermarks` comes after `views/analytics.watermarks.sql`, so the migrator creates
    /// each one at its first try (a try that fails is logged by the server as an ERROR). Otherwise
    /// the files keep their order. A name met only in a comment orders them needlessly, and a cycle
    /// leaves the rest in their order for the migrator's retries to settle.
    static func orderedByMentions(_ definitions: [RepeatableMigration]) -> [RepeatableMigration] {
        let names = definitions.map(\.objectName)
        let needs = definitions.indices.map { index in
            Set(names.indices.filter { $0 != index && definitions[index].sql.contains(names[$0]) })
        }
        var placed = Set<Int>()
        var ordered: [RepeatableMigration] = []
        while ordered.count < definitions.count {
            let ready = definitions.indices.first { !placed.contains($0) && needs[$0].isSubset(of: placed) }
            let next = ready ?? definitions.indices.first { !placed.contains($0) }!
            placed.insert(next)
            ordered.append(definitions[next])
        }
        return ordered
    }
}
