ALTER TABLE users
    DROP COLUMN rewards_sequence,
    DROP COLUMN rewards_balance,
    DROP COLUMN last_login_at;
