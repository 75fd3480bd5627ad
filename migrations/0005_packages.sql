-- Uploaded chart archives. Blobs are content-addressed (one row per distinct archive); a
-- package is a chart name-version in a namespace, pointing at its blob.

CREATE TABLE chart_blobs (
    digest  text PRIMARY KEY CONSTRAINT chart_blobs_digest CHECK (digest ~ '^[0-9a-f]{64}$'),
    content bytea NOT NULL,
    size    integer NOT NULL
);

CREATE TABLE packages (
    namespace   text NOT NULL,
    id          text NOT NULL,
    name        text NOT NULL,
    version     text NOT NULL,
    app_version text,
    description text,
    digest      text NOT NULL REFERENCES chart_blobs (digest),
    size        integer NOT NULL,
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT packages_pkey PRIMARY KEY (namespace, id)
);

-- Where each release installed or upgraded through Pilothouse got its chart, so that a later
-- upgrade (new values, a scale) can name the same chart.
CREATE TABLE helm_chart_sources (
    namespace text NOT NULL,
    release   text NOT NULL,
    kind      text NOT NULL CONSTRAINT helm_chart_sources_kind CHECK (kind IN ('package', 'repository', 'oci')),
    reference text NOT NULL,
    version   text,
    CONSTRAINT helm_chart_sources_pkey PRIMARY KEY (namespace, release)
);
