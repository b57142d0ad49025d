-- The reconciler's schedule: when an open upload is next checked. Each pass takes the uploads
-- that are due (never checked first), checks them and pushes next_check_at back, so handles
-- that are never used (every POST /v1/collection issues one) cannot keep it from reaching
-- newer uploads whose notification was lost.
ALTER TABLE cover_uploads ADD COLUMN next_check_at timestamptz;

CREATE INDEX cover_uploads_due ON cover_uploads (next_check_at NULLS FIRST, created_at DESC)
    WHERE status IN ('pending', 'processing');
