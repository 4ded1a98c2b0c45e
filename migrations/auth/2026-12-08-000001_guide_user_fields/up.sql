-- What the guide's clients read on the user beside what auth already keeps.
-- `last_login_at`: the latest successful login; NULL until the first.
-- `rewards_balance`: FS Coins (points), a read model of payments' ledger fed by
-- `rewards.changed`; `rewards_sequence` is the ledger sequence of the entry it came from, so an
-- older event (redelivered, retried, replayed from the dead-letter queue) never overwrites a
-- newer balance. Neither touches `version` or `token_version`: user events do not carry them
-- and tokens do not vouch for them.
ALTER TABLE users
    ADD COLUMN last_login_at TIMESTAMPTZ,
    ADD COLUMN rewards_balance BIGINT NOT NULL DEFAULT 0 CHECK (rewards_balance >= 0),
    ADD COLUMN rewards_sequence BIGINT NOT NULL DEFAULT 0;
