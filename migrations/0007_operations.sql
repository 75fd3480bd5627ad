-- Changes as data (DESIGN.md, "The shapes everything builds on"): every write is a row here,
-- keyed by the audit operation id its intent and outcome rows carry. Today every change runs
-- at once and the request waits for it; tracked operations, approvals and freeze windows add
-- states and executors over the same rows.
CREATE TABLE operations (
    id            uuid PRIMARY KEY,
    cluster       text NOT NULL,
    namespace     text NOT NULL,
    kind          text,
    name          text,
    change        jsonb NOT NULL,
    state         text NOT NULL
                  CONSTRAINT operations_state CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    steps         jsonb NOT NULL DEFAULT '[]',
    requested_by  jsonb NOT NULL,
    owner         text,
    heartbeat     timestamptz,
    result        jsonb,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX operations_open ON operations (state, heartbeat) WHERE state IN ('pending', 'running');
CREATE INDEX operations_target ON operations (cluster, namespace, kind, name, created_at DESC);
