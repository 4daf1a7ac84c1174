-- 0007_create_event_indexes.sql
-- Indexes that keep a per-bucket recompute cheap: a refresh reads one minute
-- (or one hour) of staging.events by event_time range, and one user's recent
-- events for session windows. Declared on the partitioned parent, so every
-- daily partition (existing and future) gets its own copy.

CREATE INDEX IF NOT EXISTS events_event_time_idx ON staging.events (event_time);
CREATE INDEX IF NOT EXISTS events_user_id_event_time_idx ON staging.events (user_id, event_time);
