-- Tracked operations (long changes answer 202 and are followed at /o2dms/v1/operations/{id}):
-- the states a caller sees, when each ended, and at most one open operation per target,
-- enforced here so two replicas cannot both start one.
ALTER TABLE operations DROP CONSTRAINT operations_state;
ALTER TABLE operations ADD CONSTRAINT operations_state
    CHECK (state IN ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'));
ALTER TABLE operations ADD COLUMN finished_at timestamptz;

-- An operation left open by an earlier version of the server cannot block its target.
UPDATE operations SET state = 'interrupted', error = 'the server stopped before it finished',
    finished_at = now() WHERE state IN ('pending', 'queued', 'running');

CREATE UNIQUE INDEX operations_one_per_target ON operations (cluster, namespace, kind, name)
    WHERE state IN ('pending', 'queued', 'running');
CREATE INDEX operations_requester
    ON operations ((requested_by ->> 'issuer'), (requested_by ->> 'subject'), created_at DESC);
