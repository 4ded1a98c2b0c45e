-- Every access token carries the user's token version (`ver`); a token below the version auth
-- publishes in Redis is void. The version rises in the same statement that changes what a token
-- vouches for (role, status) or the credentials behind it (password, email), so a token issued
-- before the change is below it and one issued after is not, however close together they are.
ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION retire_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role IS DISTINCT FROM OLD.role
        OR NEW.status IS DISTINCT FROM OLD.status
        OR NEW.password_hash IS DISTINCT FROM OLD.password_hash
        OR NEW.email IS DISTINCT FROM OLD.email THEN
        NEW.token_version := OLD.token_version + 1;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_retire_tokens BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION retire_tokens();
