-- Crash-safe claims. A claim is a token plus a heartbeat: the worker holding it renews
-- heartbeat_at while it works, so a claim whose heartbeat stopped (its worker died) can be
-- taken over within one lease (seconds), and every write after the claim names its token, so
-- a worker whose claim was taken over changes nothing. Both nullable: rows of the previous
-- release (claimed_at only) read as claims with no token and a stopped heartbeat.
ALTER TABLE cover_uploads
    ADD COLUMN claim_token  uuid,
    ADD COLUMN heartbeat_at timestamptz;

-- Claims of the previous release: their heartbeat is the time they were taken.
UPDATE cover_uploads SET heartbeat_at = claimed_at WHERE status = 'processing';
