import Foundation
import LibPQ
import Testing

/// The session merge in two parts (etl.session_merge_part, 0026): the worker's last refresh
/// merges them at once on its two connections, so a merge of one part must neither wait for
/// the other nor touch its users.
@Suite("the session merge in two parts")
struct SessionMergePartsTests {
    @Test("a merge of one part goes on while the other part is locked, and merges only its users")
    func partsMergeApart() throws {
        let database = try TestDatabase.migrated("merge_parts")
        let setup = try database.connect()
        // One user in each part, both in one shipped batch whose marks a refresh has taken.
        let users = try (0...1).map { part in
            try #require(
                setup.execute(
                    "SELECT u FROM (SELECT 'user-' || n AS u FROM generate_series(1, 100) AS n) AS x WHERE etl.session_merge_part(u) = $1 LIMIT 1",
                    [String(part)]
                ).value(0, 0))
        }
        try setup.executeScript(
            """
            SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-04-01']);
            INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
            SELECT gen_random_uuid(), 'click', '2026-04-01 10:00+00', u, '{}', 't', 0, o, 1
            FROM unnest(ARRAY['\(users[0])', '\(users[1])']) WITH ORDINALITY AS x(u, o);
            INSERT INTO etl.batches (batch_id, worker_id, topic, started_at, events, rejected, bytes, partitions, copy_ms, aggregated_by_worker)
            VALUES (1, 'w', 't', now(), 2, 0, 0, '[]', 0, true);
            INSERT INTO etl.batch_session_pieces (batch_id, user_id, first_at, last_at, events, pages, revenue)
            SELECT 1, u, '2026-04-01 10:00+00', '2026-04-01 10:00+00', 1, 0, 0 FROM unnest(ARRAY['\(users[0])', '\(users[1])']) AS u;
            SELECT etl.refresh_rollups();
            """)
        func sessions(of user: String) throws -> Int {
            try database.count("SELECT count(*) FROM analytics.user_sessions WHERE user_id = $1", [user])
        }

        // Another merge holds part 0.
        let holder = try database.connect()
        try holder.execute("BEGIN")
        try holder.execute("SELECT etl.lock_session_parts(0, true)")
        let merger = try database.connect()
        #expect(try merger.execute("SELECT etl.merge_pending_sessions(p_wait => false)").int64(0, 0) == 0)
        #expect(
            try merger.execute("SELECT etl.merge_pending_sessions(p_wait => false, p_part => 1)").int64(0, 0) == 1,
            "part 1 merges beside it")
        #expect(try sessions(of: users[1]) == 1)
        #expect(try sessions(of: users[0]) == 0, "part 0's user waits for part 0's merge")
        try holder.execute("COMMIT")
        #expect(try merger.execute("SELECT etl.merge_pending_sessions(p_wait => false)").int64(0, 0) == 1)
        #expect(try sessions(of: users[0]) == 1)
        #expect(try database.count("SELECT count(*) FROM etl.batch_session_pieces") == 0)
    }
}
