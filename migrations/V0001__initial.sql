-- Initial schema: organizations, API keys, collections, tracks and cover uploads.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Counters behind collections/tracks.organization_index: incremented with
    -- UPDATE … RETURNING so concurrent inserts never share an index.
    collection_count bigint NOT NULL DEFAULT 0,
    track_count      bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE collections (
    id                   uuid PRIMARY KEY,
    organization_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    creator_id           text,
    title                text NOT NULL,
    organization_index   bigint NOT NULL,
    metadata             jsonb NOT NULL DEFAULT '{}'::jsonb,
    image_colors         jsonb,
    player_color         text,
    player_color_light   text,
    player_color_dark    text,
    player_subtitle      text,
    is_cover_overridable boolean NOT NULL DEFAULT true,
    is_theme_overridable boolean NOT NULL DEFAULT true,
    -- The cover upload whose colors are applied, and its request order
    -- (cover_uploads.seq): a finished upload is applied only if its seq is
    -- greater, which makes "requested last wins" one UPDATE … WHERE.
    cover_upload_id      uuid,
    cover_upload_seq     bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX collections_organization ON collections (organization_id, created_at, id);

CREATE TABLE tracks (
    id                 uuid PRIMARY KEY,
    organization_id    uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    collection_id      uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    creator_id         text,
    index              integer,
    duration           double precision,
    file_name          text,
    organization_index bigint NOT NULL,
    "order"            integer,
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
    player_title       text,
    player_subtitle    text,
    player_color       text,
    player_color_light text,
    player_color_dark  text,
    image_colors       jsonb,
    track_status_id    text NOT NULL DEFAULT 'initialized',
    cover_upload_id    uuid,
    cover_upload_seq   bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracks_collection ON tracks (collection_id, "order", created_at, id);
CREATE INDEX tracks_organization ON tracks (organization_id);

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- SHA-256 of the key; the key itself is shown once and never stored.
    key_hash        bytea NOT NULL UNIQUE,
    -- Optional scope: the key may only touch this collection and its tracks.
    collection_id   uuid REFERENCES collections (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

CREATE TABLE cover_uploads (
    id              uuid PRIMARY KEY,
    -- Request order; decides which of two uploads for one target wins.
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    target_kind     text NOT NULL CHECK (target_kind IN ('collection', 'track')),
    collection_id   uuid REFERENCES collections (id) ON DELETE CASCADE,
    track_id        uuid REFERENCES tracks (id) ON DELETE CASCADE,
    object_key      text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'pending' CHECK (
        status IN ('pending', 'processing', 'applied', 'failed', 'expired', 'superseded')
    ),
    error           text,
    content_type    text,
    size            bigint,
    max_bytes       bigint NOT NULL,
    image_colors    jsonb,
    player_color    text,
    player_color_light text,
    player_color_dark  text,
    -- Processing attempts so far (claims), for bounded retries.
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    uploaded_at     timestamptz,
    -- When the current 'processing' claim was taken: a claim older than the
    -- worker's lease belongs to a worker that died and may be taken over.
    claimed_at      timestamptz,
    processed_at    timestamptz,
    CHECK (
        (target_kind = 'collection' AND collection_id IS NOT NULL AND track_id IS NULL)
        OR (target_kind = 'track' AND track_id IS NOT NULL)
    )
);
CREATE INDEX cover_uploads_open ON cover_uploads (created_at)
    WHERE status IN ('pending', 'processing');
CREATE INDEX cover_uploads_organization ON cover_uploads (organization_id);
