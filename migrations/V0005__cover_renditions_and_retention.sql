-- Covers a client can display, and storage that cleans up after itself.
--
-- renditions: the four square renditions the worker stored for the upload, written with its
--   outcome: [{"type": "icon", "width", "height", "content_type", "bytes", "etag"}, …].
--   NULL for uploads processed before this release: their cover_image stays null until a new
--   cover is uploaded.
-- blurhash: the BlurHash placeholder (4×3 components) of the cover.
-- replaced_at: when an applied upload stopped being shown because a later one was applied.
-- target_deleted_at: when the upload's collection or track was deleted.
-- purge_started_at / purged_at: the retention sweep decided to delete the upload's objects /
--   deleted them. A started, unfinished purge is resumed by the next sweep.
ALTER TABLE cover_uploads
    ADD COLUMN renditions        jsonb,
    ADD COLUMN blurhash          text,
    ADD COLUMN replaced_at       timestamptz,
    ADD COLUMN target_deleted_at timestamptz,
    ADD COLUMN purge_started_at  timestamptz,
    ADD COLUMN purged_at         timestamptz;

-- The row of an upload outlives its target, so the sweep still knows which objects to delete:
-- deleting a collection or track now nulls the upload's reference instead of deleting the
-- row, and the trigger below records when.
ALTER TABLE cover_uploads
    DROP CONSTRAINT cover_uploads_collection_id_fkey,
    DROP CONSTRAINT cover_uploads_track_id_fkey,
    DROP CONSTRAINT cover_uploads_check,
    ADD CONSTRAINT cover_uploads_collection_id_fkey FOREIGN KEY (collection_id)
        REFERENCES collections (id) ON DELETE SET NULL,
    ADD CONSTRAINT cover_uploads_track_id_fkey FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE SET NULL,
    ADD CONSTRAINT cover_uploads_target_check CHECK (
        target_deleted_at IS NOT NULL
        OR (target_kind = 'collection' AND collection_id IS NOT NULL AND track_id IS NULL)
        OR (target_kind = 'track' AND track_id IS NOT NULL)
    );

-- Both the trigger's UPDATE and the foreign keys' SET NULL look uploads up by target.
CREATE INDEX cover_uploads_collection ON cover_uploads (collection_id);
CREATE INDEX cover_uploads_track ON cover_uploads (track_id);

CREATE FUNCTION cover_uploads_target_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'collections' THEN
        UPDATE cover_uploads SET target_deleted_at = now()
        WHERE collection_id = OLD.id AND target_deleted_at IS NULL;
    ELSE
        UPDATE cover_uploads SET target_deleted_at = now()
        WHERE track_id = OLD.id AND target_deleted_at IS NULL;
    END IF;
    RETURN OLD;
END
$$;

-- BEFORE: the references are still set, so the uploads can be found; a collection's deletion
-- cascades to its tracks, whose own trigger marks the track covers.
CREATE TRIGGER collections_mark_cover_uploads BEFORE DELETE ON collections
    FOR EACH ROW EXECUTE FUNCTION cover_uploads_target_deleted();
CREATE TRIGGER tracks_mark_cover_uploads BEFORE DELETE ON tracks
    FOR EACH ROW EXECUTE FUNCTION cover_uploads_target_deleted();

-- The retention sweep's candidates: uploads whose objects no target can show any more.
CREATE INDEX cover_uploads_sweep ON cover_uploads (created_at)
    WHERE purged_at IS NULL
      AND (status IN ('failed', 'expired', 'superseded')
           OR replaced_at IS NOT NULL OR target_deleted_at IS NOT NULL);
