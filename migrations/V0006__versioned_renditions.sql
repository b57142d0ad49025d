-- Versioned renditions: the bytes served under one URL never change, and what a collection or
-- track shows stays served until a newer cover is applied, whatever happens to the upload it
-- came from (a re-upload with the same handle being processed, failing, or a storage outage).
--
-- A waiting lock fails this migration after 5 s instead of queueing every query of the live
-- services behind it; `api-service migrate` can simply be run again.
SET LOCAL lock_timeout = '5s';

-- generation: drawn anew at every claim (cover_uploads.generation + 1). The worker writes an
--   attempt's renditions under `renditions/<upload>/<generation>/<size>`, so a re-upload gets
--   new keys and URLs, and a worker whose claim was taken over cannot overwrite the new
--   owner's. Generation 0 is the renditions stored before this release, under the old
--   `renditions/<upload>/<size>` keys.
-- transient_failures: attempts that ended in an outage (or ran past the processing deadline),
--   whichever path started them; after worker.max_attempts the upload fails.
-- next_purge_at / purge_failures: a purge whose deletes failed is tried again later, backing
--   off, instead of coming back in every batch.
ALTER TABLE cover_uploads
    ADD COLUMN generation         integer NOT NULL DEFAULT 0,
    ADD COLUMN transient_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN next_purge_at      timestamptz,
    ADD COLUMN purge_failures     integer NOT NULL DEFAULT 0;

-- One row per generation whose renditions were stored with an outcome: what a URL serves.
-- replaced_at: when it stopped being shown (a newer generation or upload was applied) or,
--   for a superseded one, when it was recorded; the retention sweep deletes its objects once
--   the retention period has passed and nothing shows it.
CREATE TABLE cover_renditions (
    upload_id        uuid NOT NULL REFERENCES cover_uploads (id) ON DELETE CASCADE,
    generation       integer NOT NULL,
    renditions       jsonb NOT NULL,
    blurhash         text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    replaced_at      timestamptz,
    purge_started_at timestamptz,
    purged_at        timestamptz,
    next_purge_at    timestamptz,
    purge_failures   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (upload_id, generation)
);
CREATE INDEX cover_renditions_sweep ON cover_renditions (replaced_at)
    WHERE purged_at IS NULL AND replaced_at IS NOT NULL;

INSERT INTO cover_renditions (upload_id, generation, renditions, blurhash, created_at)
    SELECT id, 0, renditions, blurhash, coalesce(processed_at, created_at)
    FROM cover_uploads
    WHERE renditions IS NOT NULL AND blurhash IS NOT NULL AND purge_started_at IS NULL;

-- The generation a collection or track shows, beside the upload (cover_upload_id).
ALTER TABLE collections ADD COLUMN cover_generation integer;
ALTER TABLE tracks ADD COLUMN cover_generation integer;
UPDATE collections SET cover_generation = 0 WHERE cover_upload_id IS NOT NULL;
UPDATE tracks SET cover_generation = 0 WHERE cover_upload_id IS NOT NULL;

-- The sweep asks, for every candidate, whether a collection or track shows it.
CREATE INDEX collections_cover_upload ON collections (cover_upload_id)
    WHERE cover_upload_id IS NOT NULL;
CREATE INDEX tracks_cover_upload ON tracks (cover_upload_id)
    WHERE cover_upload_id IS NOT NULL;

-- An upload whose target is deleted can never be applied: a pending one ends at once, with a
-- reason, and its object goes to the retention sweep. One being processed is ended by its
-- worker (or by the reconciler, should that worker die).
CREATE OR REPLACE FUNCTION cover_uploads_target_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'collections' THEN
        UPDATE cover_uploads
        SET target_deleted_at = now(),
            status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
            error = CASE WHEN status = 'pending' THEN 'the collection was deleted' ELSE error END,
            processed_at = CASE WHEN status = 'pending' THEN now() ELSE processed_at END
        WHERE collection_id = OLD.id AND target_deleted_at IS NULL;
    ELSE
        UPDATE cover_uploads
        SET target_deleted_at = now(),
            status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
            error = CASE WHEN status = 'pending' THEN 'the track was deleted' ELSE error END,
            processed_at = CASE WHEN status = 'pending' THEN now() ELSE processed_at END
        WHERE track_id = OLD.id AND target_deleted_at IS NULL;
    END IF;
    RETURN OLD;
END
$$;

-- Earlier pending uploads of deleted targets end the same way.
UPDATE cover_uploads
SET status = 'failed', processed_at = now(),
    error = CASE WHEN target_kind = 'collection' THEN 'the collection was deleted'
                 ELSE 'the track was deleted' END
WHERE target_deleted_at IS NOT NULL AND status = 'pending';
