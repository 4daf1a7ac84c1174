-- views/analytics.pipeline_last_commit.sql
CREATE OR REPLACE VIEW analytics.pipeline_last_commit AS
SELECT max(b.committed_at) AS last_committed_at,
       extract(epoch FROM now() - max(b.committed_at))::double precision AS age_seconds
FROM etl.batches AS b;
