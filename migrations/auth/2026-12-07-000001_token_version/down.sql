DROP TRIGGER users_retire_tokens ON users;
DROP FUNCTION retire_tokens();
ALTER TABLE users DROP COLUMN token_version;
