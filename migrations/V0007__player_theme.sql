-- The player theme derived from a cover beside its colors: three schemes (cover, light, dark)
-- of five roles and their contrast ratios, as `common/src/theme.rs` defines them. Null until
-- a cover is applied, and for covers applied before this release.
--
-- Nullable columns without a default: catalog-only changes, no table rewrite; the lock is
-- held for milliseconds, and a waiting one fails after 5 s rather than queueing the services.
SET LOCAL lock_timeout = '5s';

ALTER TABLE cover_uploads ADD COLUMN theme jsonb;
ALTER TABLE collections ADD COLUMN theme jsonb;
ALTER TABLE tracks ADD COLUMN theme jsonb;
