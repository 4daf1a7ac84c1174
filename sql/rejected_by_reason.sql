-- rejected_by_reason.sql
-- Why were messages rejected in the last 24 hours, how many per reason, and
-- what do a few of them look like (first 200 bytes, invalid UTF-8 escaped)?
WITH recent AS (
    SELECT reason, detail, raw, kafka_partition, kafka_offset, rejected_at
    FROM etl.rejected_events
    WHERE rejected_at >= now() - interval '24 hours'
),
samples AS (
    SELECT reason,
           (array_agg(format('p%s@%s %s: %s', kafka_partition, kafka_offset, detail,
                             coalesce(encode(substring(raw FROM 1 FOR 200), 'escape'), '(null value)'))
                      ORDER BY rejected_at DESC))[1:3] AS latest
    FROM recent
    GROUP BY reason
)
SELECT r.reason, count(*) AS rejected, max(r.rejected_at) AS last_seen, s.latest AS samples
FROM recent AS r
JOIN samples AS s USING (reason)
GROUP BY r.reason, s.latest
ORDER BY rejected DESC, r.reason;
