import Testing

@testable import PipelineIO

@Suite("views ordered by the names their text mentions")
struct ViewOrderTests {
    @Test("every view of the repository comes after each view it names")
    func repositoryViews() throws {
        let files = try MigrationSource.directory(repositoryMigrationsPath).load()
        let views = files.repeatable.filter { $0.kind == .view }
        let ordered = RepeatableMigration.orderedByMentions(views)
        #expect(Set(ordered.map(\.path)) == Set(views.map(\.path)))
        let position = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1.objectName, $0) })
        for view in ordered {
            for (name, index) in position where name != view.objectName && view.sql.contains(name) {
                #expect(index < position[view.objectName]!, "\(view.objectName) reads \(name)")
            }
        }
        // The case the server logged an ERROR for: the rollups' views read the watermarks.
        #expect(position["analytics.watermarks"]! < position["analytics.events_per_hour"]!)
    }

    @Test("a cycle keeps every file, in its order")
    func cycle() {
        let a = RepeatableMigration(kind: .view, path: "views/x.a.sql", sql: "SELECT * FROM x.b")
        let b = RepeatableMigration(kind: .view, path: "views/x.b.sql", sql: "SELECT * FROM x.a")
        let c = RepeatableMigration(kind: .view, path: "views/x.c.sql", sql: "SELECT 1")
        #expect(RepeatableMigration.orderedByMentions([a, b, c]).map(\.path) == [c, a, b].map(\.path))
    }
}
