-- Periodic work that must run once across replicas (audit retention): when it last ran and
-- how often. The leader claims a run with one conditional upsert, so even two replicas that
-- briefly both believe they lead cannot both run it.
CREATE TABLE scheduled_runs (
    task text PRIMARY KEY,
    last_run timestamptz NOT NULL,
    runs bigint NOT NULL
);
