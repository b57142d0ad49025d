-- Webhooks: an organization's endpoints, and a transactional outbox of cover upload events.
--
-- The trigger on cover_uploads writes the event and one delivery per matching endpoint in the
-- transaction that makes an upload `applied` or `failed`, whichever code path does it: an
-- outcome is never committed without its event, and an event never without its outcome.
-- Dispatchers (in api-service) claim due deliveries with FOR UPDATE SKIP LOCKED and POST them.
-- New tables only: no lock on existing rows beyond the trigger's creation.
SET LOCAL lock_timeout = '5s';

CREATE TABLE webhook_endpoints (
    id                         uuid PRIMARY KEY,
    organization_id            uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                        text NOT NULL,
    -- Event types it receives, e.g. {cover_upload.applied}.
    events                     text[] NOT NULL,
    -- `whsec_` + base64 of the HMAC key. Kept as is (not hashed): signing needs it.
    secret                     text NOT NULL,
    -- The secret before the last rotation, which signs beside the new one until it expires.
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    -- The first failed attempt since the last delivered one; the endpoint is disabled once
    -- this is older than `webhooks.disable_after_secs`.
    failing_since              timestamptz,
    disabled_at                timestamptz,
    disabled_reason            text
);

CREATE INDEX webhook_endpoints_organization ON webhook_endpoints (organization_id, created_at);

CREATE TABLE webhook_events (
    -- The `webhook-id` of every attempt of every delivery of this event.
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    type            text NOT NULL,
    -- The cover_uploads row and its latest cover_renditions row as the outcome left them: the
    -- body is made from these, so every attempt sends the same bytes.
    upload          jsonb NOT NULL,
    cover           jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id        uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts since the delivery was created or retried by hand: its place in the schedule.
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A dispatcher is sending it until then; after, it is due again (the dispatcher died).
    claimed_until   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at)
    WHERE status = 'pending';
-- Attempts in flight per endpoint, for its concurrency limit: a claim's `claimed_until` is
-- cleared when its attempt is recorded, so this stays as small as what is in flight.
CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (endpoint_id)
    WHERE status = 'pending' AND claimed_until IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL,
    -- The receiver's status code, or null with `error` when there was no answer.
    status_code  integer,
    error        text,
    duration_ms  integer NOT NULL
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);

CREATE FUNCTION cover_upload_webhook_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event_type text := 'cover_upload.' || NEW.status;
    event_id   uuid;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints
                   WHERE organization_id = NEW.organization_id AND disabled_at IS NULL
                     AND event_type = ANY (events)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (organization_id, type, upload, cover)
    VALUES (NEW.organization_id, event_type, to_jsonb(NEW),
            (SELECT to_jsonb(g) FROM cover_renditions g
             WHERE g.upload_id = NEW.id AND g.purge_started_at IS NULL
             ORDER BY g.generation DESC LIMIT 1))
    RETURNING id INTO event_id;
    INSERT INTO webhook_deliveries (event_id, endpoint_id)
    SELECT event_id, id FROM webhook_endpoints
    WHERE organization_id = NEW.organization_id AND disabled_at IS NULL
      AND event_type = ANY (events);
    RETURN NULL;
END
$$;

CREATE TRIGGER cover_upload_webhook_event
    AFTER UPDATE OF status ON cover_uploads
    FOR EACH ROW
    WHEN (NEW.status IN ('applied', 'failed') AND NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION cover_upload_webhook_event();
