-- 0001_create_schemas.sql
-- The three schemas: etl (control data: offsets, ledger, dead letters),
-- staging (COPY targets), analytics (what people and Grafana read).
-- etl.schema_migrations itself is created by `pipeline migrate` before this runs.

CREATE SCHEMA IF NOT EXISTS etl;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS analytics;

COMMENT ON SCHEMA etl IS 'Pipeline control data: offsets, batch ledger, rejected events, gaps.';
COMMENT ON SCHEMA staging IS 'Raw validated events, loaded by COPY exactly once.';
COMMENT ON SCHEMA analytics IS 'Views and aggregates for people and Grafana; the only schema Grafana reads.';
