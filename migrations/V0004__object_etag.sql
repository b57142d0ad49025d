-- The version (ETag) of the object an upload's outcome was computed from. A client may upload
-- again with the same handle while it is valid; the last object stored under the key is the
-- one that counts, so a notification for a finished upload whose object now has another ETag
-- is processed again.
ALTER TABLE cover_uploads ADD COLUMN object_etag text;
