-- 0027_claims_carry_payload_hash.sql
-- A claim in etl.event_ids carries its record's payload hash (issue 13): the first 64 bits of
-- MurmurHash3_x64_128 (seed 0) over the payload's bytes as received, computed by the worker
-- (EventIDClaim.payloadHash). etl.divert_copies calls a copy whose hash equals its claimer's a
-- duplicate without reading the claimer's row from staging; only copies whose bytes differ
-- (a conflict, or the same content spelled otherwise) are compared as jsonb with it. NULL for
-- claims made before this and for records staged by hand (the deduplication trigger claims
-- without a hash): their copies are always compared.
ALTER TABLE etl.event_ids ADD COLUMN IF NOT EXISTS payload_hash bigint;

COMMENT ON COLUMN etl.event_ids.payload_hash IS
    'First 64 bits of MurmurHash3_x64_128 (seed 0) over the claiming record''s payload bytes; NULL when the worker did not claim it. Equal hashes decide a copy is a duplicate (etl.divert_copies).';
