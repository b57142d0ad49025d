-- Organizations get a cover of their own, the last link of the fallback chain
-- track → collection → organization (cover, colors, theme), with the vendor's two flags:
-- is_cover_overridable = false: collections and tracks show the organization's cover and
--   refuse covers of their own; is_theme_overridable = false: they show its colors and theme.
-- The cover columns mean what they mean on collections (see V0001, V0006).
--
-- Nullable columns and non-volatile defaults: catalog-only changes, no table rewrite.
SET LOCAL lock_timeout = '5s';

ALTER TABLE organizations
    ADD COLUMN image_colors         jsonb,
    ADD COLUMN player_color         text,
    ADD COLUMN player_color_light   text,
    ADD COLUMN player_color_dark    text,
    ADD COLUMN theme                jsonb,
    ADD COLUMN is_cover_overridable boolean NOT NULL DEFAULT true,
    ADD COLUMN is_theme_overridable boolean NOT NULL DEFAULT true,
    ADD COLUMN cover_upload_id      uuid,
    ADD COLUMN cover_upload_seq     bigint,
    ADD COLUMN cover_generation     integer,
    ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now();

-- The sweep asks, for every candidate, whether an organization shows it.
CREATE INDEX organizations_cover_upload ON organizations (cover_upload_id)
    WHERE cover_upload_id IS NOT NULL;

-- An organization's upload names no collection or track: its target is organization_id.
-- The new checks allow more than the old ones, so every row passes them; NOT VALID skips the
-- scan under the exclusive lock (new writes are checked all the same).
ALTER TABLE cover_uploads
    DROP CONSTRAINT cover_uploads_target_kind_check,
    DROP CONSTRAINT cover_uploads_target_check,
    ADD CONSTRAINT cover_uploads_target_kind_check
        CHECK (target_kind IN ('collection', 'track', 'organization')) NOT VALID,
    ADD CONSTRAINT cover_uploads_target_check CHECK (
        target_deleted_at IS NOT NULL
        OR (target_kind = 'collection' AND collection_id IS NOT NULL AND track_id IS NULL)
        OR (target_kind = 'track' AND track_id IS NOT NULL)
        OR (target_kind = 'organization' AND collection_id IS NULL AND track_id IS NULL)
    ) NOT VALID;
