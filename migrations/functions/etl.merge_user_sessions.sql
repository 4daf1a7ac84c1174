-- functions/etl.merge_user_sessions.sql
-- Session windows (a new session after 30 minutes without events; ends 30
-- minutes after its last event), merged from pieces instead of re-read. The
-- pieces in hand: those in pg_temp.etl_refresh_sessions on entry (the worker's,
-- etl.take_session_pieces put them there) and one per event read back
-- (pg_temp.etl_refresh_rows, from_batch); p_batches_in_hand names the batches
-- read back (every event of theirs is in hand as a row), and each of the worker's
-- pieces in hand carries its batch.
-- - users a rebuild marked (p_users, with the range to redo): their sessions
--   touching the range are taken out and every staged event of the widened
--   range becomes a piece, except events of batches read back, events whose
--   user's piece of their batch is in hand (the piece carries them: per user,
--   as the merge may have taken a batch's pieces of one part and not yet of
--   the other, etl.session_merge_part) and events of batches whose marks are
--   still pending (the next refresh releases their pieces). First: the sessions left are then wholly
--   outside what staging gave.
-- - every user with pieces that lie within 30 minutes of each other and either
--   extend the one stored session they can reach (from inside it, or less than
--   30 minutes after its last event) or reach none: the session is UPDATEd in
--   place, or one inserted, with no chaining. Most users of a stream are this
--   case, and chaining them cost about a third of the merge (BENCHMARKS.md).
-- - every other user: the sessions the pieces can touch are read and
--   become pieces that remember their key (stored_start); the pieces are
--   chained into sessions again (a piece more than 30 minutes after every
--   earlier one starts a new session) and summed. A merged session holding one
--   stored session with its start (an append, or a late event inside it) is
--   UPDATEd in place: no index holds what changes, so the row is rewritten on
--   its page (HOT, 0024). Other stored sessions (a late event before one, or
--   bridging two) are deleted and their merged sessions inserted. Staging is
--   not read.
-- Until issue 13's session merger a rebuilt user's pieces in hand were dropped
-- for the rebuild's read of staging, which covers only the rebuilt range: an
-- event of the same user outside it, in a batch of the same refresh, was lost.
CREATE OR REPLACE FUNCTION etl.merge_user_sessions(
    p_users text[], p_from timestamptz[], p_to timestamptz[], p_batches_in_hand bigint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
-- The common case groups the pieces by user by sorting them, so that its probes walk the
-- sessions' B-tree in its own order (below). A hash aggregate would hand them over in hash order.
SET enable_hashagg = off
AS $$
DECLARE
    v_first timestamptz;
    v_users text[];         -- a rebuild's users, the ranges they are read over, and their bounds
    v_lo    timestamptz[];
    v_hi    timestamptz[];
    v_min   timestamptz;
    v_max   timestamptz;
    v_others text[];        -- users whose pieces the common case did not take
BEGIN
    -- Purpose: session windows whose cost follows the new events.
    IF p_users IS NOT NULL THEN
        SELECT min(f) INTO v_first FROM unnest(p_from) AS f;
        WITH marked AS (SELECT * FROM unnest(p_users, p_from, p_to) AS u(user_id, t_from, t_to)),
        taken AS (
            DELETE FROM etl.agg_user_sessions AS s
            USING marked AS m
            WHERE s.user_id = m.user_id AND s.session_end >= m.t_from AND s.session_end >= v_first
              AND s.session_start <= m.t_to + interval '30 minutes'
            RETURNING s.user_id, s.session_start, s.last_event_at
        ),
        widened AS (
            SELECT m.user_id, least(m.t_from, min(t.session_start)) AS lo, greatest(m.t_to, max(t.last_event_at)) AS hi
            FROM marked AS m
            LEFT JOIN taken AS t ON t.user_id = m.user_id
            GROUP BY m.user_id, m.t_from, m.t_to
        )
        SELECT array_agg(w.user_id), array_agg(w.lo), array_agg(w.hi), min(w.lo), max(w.hi)
        INTO v_users, v_lo, v_hi, v_min, v_max
        FROM widened AS w;

        -- A rebuild reads its range anyway: once, by event_time (the plain
        -- bounds prune the partitions), joined to the users by hash.
        INSERT INTO pg_temp.etl_refresh_sessions (user_id, first_at, last_at, events, pages, revenue)
        SELECT i.user_id, i.event_time, i.event_time, 1, (i.event_type = 'page_view')::integer, coalesce(i.amount, 0)
        FROM etl.aggregate_inputs AS i
        JOIN unnest(v_users, v_lo, v_hi) AS w(user_id, lo, hi)
            ON w.user_id = i.user_id AND i.event_time >= w.lo AND i.event_time <= w.hi
        WHERE i.event_time >= v_min AND i.event_time <= v_max
          AND NOT i.batch_id = ANY (coalesce(p_batches_in_hand, '{}'))
          AND NOT EXISTS (SELECT FROM pg_temp.etl_refresh_sessions AS p
                          WHERE p.batch_id = i.batch_id AND p.user_id = i.user_id)
          AND NOT EXISTS (SELECT FROM etl.dirty_minutes AS p WHERE p.batch_id = i.batch_id);
    END IF;


    -- The sessions taken out all end at or after their user's first new event:
    -- a plain value, so the partitions ending earlier are pruned.
    INSERT INTO pg_temp.etl_refresh_sessions (user_id, first_at, last_at, events, pages, revenue)
    SELECT r.user_id, r.event_time, r.event_time, 1, (r.event_type = 'page_view')::integer, coalesce(r.amount, 0)
    FROM pg_temp.etl_refresh_rows AS r
    WHERE r.from_batch;
    SELECT min(p.first_at) INTO v_first FROM pg_temp.etl_refresh_sessions AS p;
    IF v_first IS NULL THEN
        RETURN;
    END IF;

    -- A session ends where its last event does, plus 30 minutes: those days' partitions. A
    -- merged session ends where one of its pieces or of the stored sessions it holds does, and
    -- a stored session's partition exists.
    PERFORM etl.ensure_session_partitions(ARRAY(
        SELECT DISTINCT ((p.last_at + interval '30 minutes') AT TIME ZONE 'UTC')::date
        FROM pg_temp.etl_refresh_sessions AS p));

    -- The common case, without chaining: a user whose pieces lie within 30 minutes of each
    -- other (so they are one chain) and either extend their latest session within reach (from
    -- inside it, or less than 30 minutes after its last event) or reach none. One probe per
    -- user finds that session: the latest to start before the pieces' end plus 30 minutes
    -- (any session the pieces touch would start no later, and sessions never overlap). It is
    -- UPDATEd in place by its address (HOT: no index holds what changes, 0024), or a session
    -- inserted. The other users are chained below. In user order: consecutive probes and
    -- inserts then touch neighbouring pages of the B-tree, which made the merge of 150 000
    -- pieces of as many users about a tenth cheaper than in hash order (BENCHMARKS.md).
    WITH added AS MATERIALIZED (
        SELECT p.user_id, min(p.first_at) AS t_from, max(p.last_at) AS t_to,
               sum(p.events) AS events, sum(p.pages) AS pages, sum(p.revenue) AS revenue
        FROM pg_temp.etl_refresh_sessions AS p
        GROUP BY p.user_id
        ORDER BY p.user_id
    ),
    decided AS MATERIALIZED (
        SELECT a.*, l.rel, l.tid,
               CASE WHEN a.t_to - a.t_from >= interval '30 minutes' THEN 'chain'
                    WHEN l.tid IS NULL OR l.session_end <= a.t_from THEN 'start'
                    WHEN l.session_start <= a.t_from THEN 'extend'
                    ELSE 'chain' END AS way
        FROM added AS a
        -- Sessions ending before v_first end before every piece: out of reach, and their
        -- partitions pruned.
        LEFT JOIN LATERAL (
            SELECT s.tableoid AS rel, s.ctid AS tid, s.session_start, s.session_end
            FROM etl.agg_user_sessions AS s
            WHERE s.user_id = a.user_id AND s.session_end >= v_first
              AND s.session_start <= a.t_to + interval '30 minutes'
            ORDER BY s.session_start DESC
            LIMIT 1) AS l ON true
    ),
    extended AS (
        UPDATE etl.agg_user_sessions AS s
        SET last_event_at = greatest(s.last_event_at, d.t_to),
            session_end = greatest(s.last_event_at, d.t_to) + interval '30 minutes',
            events = s.events + d.events, pages = s.pages + d.pages, revenue = s.revenue + d.revenue
        FROM decided AS d
        WHERE d.way = 'extend' AND s.tableoid = d.rel AND s.ctid = d.tid AND s.session_end >= v_first
    ),
    started AS (
        INSERT INTO etl.agg_user_sessions (user_id, session_start, session_end, last_event_at, events, pages, revenue)
        SELECT d.user_id, d.t_from, d.t_to + interval '30 minutes', d.t_to, d.events, d.pages, d.revenue
        FROM decided AS d
        WHERE d.way = 'start'
    )
    SELECT array_agg(d.user_id) INTO v_others FROM decided AS d WHERE d.way = 'chain';
    IF v_others IS NULL THEN
        RETURN;
    END IF;

    -- The other users (a few in a stream: late events, long gaps): only their pieces stay, and
    -- the planner learns how few they are. The sessions their pieces can touch are read and
    -- become pieces that remember their key (stored_start), and everything is chained below.
    DELETE FROM pg_temp.etl_refresh_sessions AS p
    WHERE NOT EXISTS (SELECT FROM unnest(v_others) AS o(user_id) WHERE o.user_id = p.user_id);
    ANALYZE pg_temp.etl_refresh_sessions;
    SELECT min(p.first_at) INTO v_first FROM pg_temp.etl_refresh_sessions AS p;
    WITH added AS (
        SELECT p.user_id, min(p.first_at) AS t_from, max(p.last_at) AS t_to
        FROM pg_temp.etl_refresh_sessions AS p
        GROUP BY p.user_id
    ),
    touched AS (
        SELECT s.user_id, s.session_start, s.last_event_at, s.events, s.pages, s.revenue, s.tableoid, s.ctid
        FROM etl.agg_user_sessions AS s
        JOIN added AS a ON s.user_id = a.user_id
        WHERE s.session_end >= a.t_from AND s.session_end >= v_first
          AND s.session_start <= a.t_to + interval '30 minutes'
    )
    INSERT INTO pg_temp.etl_refresh_sessions (user_id, first_at, last_at, events, pages, revenue, stored_start,
                                              stored_rel, stored_tid)
    SELECT t.user_id, t.session_start, t.last_event_at, t.events, t.pages, t.revenue, t.session_start,
           t.tableoid, t.ctid
    FROM touched AS t;

    -- COLLATE "C": the pieces only need grouping by user, and byte order sorts them without the
    -- locale's comparisons (the same partitions: equality is byte equality either way).
    -- The three writes touch different rows (one session per user and start), so one statement
    -- holds them: the UPDATE and the DELETE reach only stored sessions, each by the address it was
    -- read at just above (this merge holds its users' part, etl.lock_session_parts: no other
    -- writer moved it). By key, the planner sorted the whole day's sessions to join them: on a
    -- merge of a long backlog that took two fifths of this statement (BENCHMARKS.md). The
    -- addresses as an array too (ctid = ANY): a TID scan fetches just those rows, where a join
    -- on the address alone would still read the day's partition into a hash.
    WITH chained AS MATERIALIZED (
        SELECT m.*, sum(m.starts_session) OVER (PARTITION BY m.user_id COLLATE "C" ORDER BY m.first_at, m.last_at
                                                ROWS UNBOUNDED PRECEDING) AS session_no
        FROM (SELECT p.*,
                     CASE WHEN p.first_at - max(p.last_at) OVER (PARTITION BY p.user_id COLLATE "C" ORDER BY p.first_at, p.last_at
                                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                               < interval '30 minutes' THEN 0 ELSE 1 END AS starts_session
              FROM pg_temp.etl_refresh_sessions AS p) AS m
    ),
    merged AS MATERIALIZED (
        SELECT c.user_id, c.session_no, min(c.first_at) AS session_start, max(c.last_at) AS last_event_at,
               sum(c.events) AS events, sum(c.pages) AS pages, sum(c.revenue) AS revenue,
               count(c.stored_start) = 1 AND min(c.stored_start) = min(c.first_at) AS in_place,
               min(c.stored_rel) AS stored_rel, min(c.stored_tid) AS stored_tid
        FROM chained AS c
        GROUP BY c.user_id, c.session_no
    ),
    extended AS (
        UPDATE etl.agg_user_sessions AS s
        SET session_end = m.last_event_at + interval '30 minutes', last_event_at = m.last_event_at,
            events = m.events, pages = m.pages, revenue = m.revenue
        FROM merged AS m
        WHERE m.in_place AND s.tableoid = m.stored_rel AND s.ctid = m.stored_tid AND s.session_end >= v_first
          AND s.ctid = ANY (ARRAY(SELECT i.stored_tid FROM merged AS i WHERE i.in_place))
    ),
    replaced AS (
        DELETE FROM etl.agg_user_sessions AS s
        USING chained AS c
        JOIN merged AS m ON m.user_id = c.user_id AND m.session_no = c.session_no
        WHERE c.stored_start IS NOT NULL AND NOT m.in_place
          AND s.tableoid = c.stored_rel AND s.ctid = c.stored_tid AND s.session_end >= v_first
          AND s.ctid = ANY (ARRAY(SELECT r.stored_tid FROM chained AS r WHERE r.stored_tid IS NOT NULL))
    )
    INSERT INTO etl.agg_user_sessions (user_id, session_start, session_end, last_event_at, events, pages, revenue)
    SELECT m.user_id, m.session_start, m.last_event_at + interval '30 minutes', m.last_event_at,
           m.events, m.pages, m.revenue
    FROM merged AS m
    WHERE NOT m.in_place;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.merge_user_sessions(text[], timestamptz[], timestamptz[], bigint[]) TO pipeline_writer;
