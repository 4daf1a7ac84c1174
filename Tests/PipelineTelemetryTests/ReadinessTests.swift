import Testing

@testable import PipelineTelemetry

@Suite("/readyz: partitions assigned and a recent answer from the database")
struct ReadinessTests {
    @Test("not ready until both hold; unready again on a database error, a stale answer or a revocation")
    func states() {
        let readiness = Readiness(staleAfterMs: 10_000)
        #expect(
            readiness.status(atMonotonicMs: 0).lines == [
                "no partitions assigned (joining the group, or more workers than partitions)",
                "database not checked yet",
            ])
        readiness.partitionsAssigned(4)
        readiness.databaseChecked(error: nil, atMonotonicMs: 1_000)
        #expect(readiness.status(atMonotonicMs: 3_500).isReady)
        #expect(readiness.status(atMonotonicMs: 3_500).lines == ["4 partition(s) assigned; database answered 2s ago"])

        #expect(!readiness.status(atMonotonicMs: 11_001).isReady, "no answer for longer than staleAfterMs")
        #expect(readiness.status(atMonotonicMs: 11_001).lines == ["database check overdue: last answer 10s ago"])

        readiness.databaseChecked(error: "cannot connect to PostgreSQL: refused", atMonotonicMs: 12_000)
        #expect(
            readiness.status(atMonotonicMs: 12_000).lines == [
                "database unreachable: cannot connect to PostgreSQL: refused"
            ])

        readiness.databaseChecked(error: nil, atMonotonicMs: 14_000)
        #expect(readiness.status(atMonotonicMs: 14_000).isReady)
        readiness.partitionsAssigned(0)
        #expect(!readiness.status(atMonotonicMs: 14_000).isReady)
    }
}
