-- functions/etl.refresh_rollups.sql
-- Adds the rows of the marked batches to every declared aggregate (etl.aggregates), once each:
-- the partial aggregates the worker shipped with a batch (etl.batch_partials, 0021), or, for a
-- batch it did not aggregate, its rows read back by batch_id. A mark without a batch (a
-- rebuild, etl.mark_for_rebuild, or one inserted by hand) recomputes its whole UTC hour: every
-- aggregate's buckets there are cleared and the hour's staged rows added again (a bucket lies
-- within one hour: 0020), except rows of batches whose marks are still pending.
-- The session pieces the worker shipped wait for etl.merge_pending_sessions. The session
-- windows are merged here too only when this refresh holds what they need that no piece
-- carries: rows read back (a batch without pieces) or a rebuild's users.
-- Until issue 13's session merger this was etl.refresh_aggregates, which now runs both.
CREATE OR REPLACE FUNCTION etl.refresh_rollups(p_wait boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
-- Small statements with blind estimates (fresh partitions, temp tables): not worth compiling.
SET jit = off
-- A 50 000-event batch's rows and session pieces are 10-20 MB: with the default 4 MB the sorts
-- and hashes over them spilled to disk (scripts/bench-profile, auto_explain: the session
-- merge's sort and hash aggregate wrote 18 MB of temp files per refresh).
SET work_mem = '64MB'
AS $$
DECLARE
    v_batches    bigint[];       -- batches whose rows are added
    v_shipped    bigint[];       -- those the worker aggregated itself
    v_read_back  bigint[];       -- the others: their rows are read back
    v_batches_lo timestamptz;    -- their marked minutes: [lo, hi)
    v_batches_hi timestamptz;
    v_recomputed timestamptz[];  -- hours recomputed whole (marks without a batch)
    v_name       text;
    v_touched    integer;
    v_lo         timestamptz;
    v_hi         timestamptz;
    v_users      text[];         -- users whose session windows a rebuild recomputes
    v_from       timestamptz[];
    v_to         timestamptz[];
BEGIN
    -- Purpose: the cost follows the batches added, never the history or the bucket.
    -- The lock keeps the name it had when this was etl.refresh_aggregates: a worker of the
    -- release before and this one still exclude each other.
    IF NOT etl.lock_for_transaction('etl.refresh_aggregates', p_wait) THEN
        RETURN 0;
    END IF;

    PERFORM etl.take_rebuild_chunk();

    -- Marks committed after this DELETE's snapshot stay for the next refresh.
    WITH d AS (DELETE FROM etl.dirty_minutes RETURNING bucket, batch_id)
    SELECT array_agg(DISTINCT d.batch_id) FILTER (WHERE d.batch_id IS NOT NULL),
           array_agg(DISTINCT date_trunc('hour', d.bucket, 'UTC')) FILTER (WHERE d.batch_id IS NULL),
           count(DISTINCT d.bucket),
           min(d.bucket) FILTER (WHERE d.batch_id IS NOT NULL),
           max(d.bucket) FILTER (WHERE d.batch_id IS NOT NULL) + interval '1 minute'
    INTO v_batches, v_recomputed, v_touched, v_batches_lo, v_batches_hi
    FROM d;

    WITH d AS (DELETE FROM etl.dirty_users RETURNING user_id, first_time, last_time),
    r AS (SELECT d.user_id, min(d.first_time) AS t_from, max(d.last_time) AS t_to FROM d GROUP BY d.user_id)
    SELECT array_agg(r.user_id), array_agg(r.t_from), array_agg(r.t_to) INTO v_users, v_from, v_to FROM r;

    SELECT array_agg(b.batch_id) INTO v_shipped
    FROM etl.batches AS b
    WHERE b.batch_id = ANY (v_batches) AND b.aggregated_by_worker;
    -- A batch without a ledger row (rows staged by hand) is read back.
    SELECT array_agg(m.batch_id) INTO v_read_back
    FROM unnest(v_batches) AS m(batch_id)
    WHERE NOT m.batch_id = ANY (coalesce(v_shipped, '{}'));

    PERFORM etl.prepare_refresh_rows();
    IF v_shipped IS NOT NULL THEN
        -- A recomputed hour's buckets come whole from staging, below.
        WITH taken AS (DELETE FROM etl.batch_partials AS p WHERE p.batch_id = ANY (v_shipped) RETURNING p.*)
        INSERT INTO pg_temp.etl_refresh_partials
        SELECT t.aggregate, t.bucket, t.event_type, t.page, t.country, t.currency, t.service, t.level,
               t.counts, t.sums, t.sketches
        FROM taken AS t
        WHERE v_recomputed IS NULL OR NOT date_trunc('hour', t.bucket, 'UTC') = ANY (v_recomputed);
    END IF;
    IF v_read_back IS NOT NULL THEN
        -- Rows in a recomputed hour come in with the hour, below.
        INSERT INTO pg_temp.etl_refresh_rows
        SELECT i.event_time, i.bucket, i.event_type, i.user_id, i.session_id, i.steps, i.page, i.country, i.currency,
               i.amount, i.service, i.level, true
        FROM etl.aggregate_inputs AS i
        WHERE i.batch_id = ANY (v_read_back)
          -- Every row of a marked batch is in a marked minute. Whole UTC days, as
          -- plain values: the other days' partitions are pruned, and the range is
          -- too wide for the planner to read it instead of the batch_id index.
          AND i.event_time >= date_trunc('day', v_batches_lo, 'UTC')
          AND i.event_time < date_trunc('day', v_batches_hi - interval '1 microsecond', 'UTC') + interval '1 day'
          AND (v_recomputed IS NULL OR NOT date_trunc('hour', i.event_time, 'UTC') = ANY (v_recomputed));
    END IF;

    -- One range statement per run of consecutive recomputed hours (an
    -- island): the range is a plain value, so the planner prunes to the
    -- touched partitions and range-scans their event_time index even when a
    -- fresh partition has no statistics yet.
    FOR v_lo, v_hi IN
        SELECT min(h), max(h) + interval '1 hour'
        FROM (SELECT h, h - row_number() OVER (ORDER BY h) * interval '1 hour' AS island
              FROM unnest(v_recomputed) AS h) AS x
        GROUP BY island
    LOOP
        FOR v_name IN SELECT a.name FROM etl.aggregates AS a LOOP
            EXECUTE format('DELETE FROM etl.%I WHERE bucket >= $1 AND bucket < $2', 'agg_' || v_name) USING v_lo, v_hi;
        END LOOP;
        -- A row whose batch still has marks (committed after the DELETE above)
        -- is the next refresh's to add.
        INSERT INTO pg_temp.etl_refresh_rows
        SELECT i.event_time, i.bucket, i.event_type, i.user_id, i.session_id, i.steps, i.page, i.country, i.currency,
               i.amount, i.service, i.level, i.batch_id = ANY (coalesce(v_read_back, '{}'))
        FROM etl.aggregate_inputs AS i
        WHERE i.event_time >= v_lo AND i.event_time < v_hi
          AND NOT EXISTS (SELECT FROM etl.dirty_minutes AS p WHERE p.batch_id = i.batch_id);
    END LOOP;

    PERFORM etl.add_refresh_rows();
    IF v_read_back IS NOT NULL OR v_users IS NOT NULL THEN
        -- The rows read back become pieces only in this transaction's working set, and a
        -- rebuild's users are taken now: the session windows are merged here, with every
        -- piece released so far (the lock order: the refresh's, then the sessions').
        PERFORM etl.lock_session_parts(NULL, true);
        PERFORM etl.take_session_pieces();
        PERFORM etl.merge_user_sessions(v_users, v_from, v_to, v_read_back);
    END IF;

    RETURN coalesce(v_touched, 0);
END;
$$;

GRANT EXECUTE ON FUNCTION etl.refresh_rollups(boolean) TO pipeline_writer;
