DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE signing_keys;
DROP TABLE id_verifications;
DROP TABLE password_resets;
DROP TABLE refresh_tokens;
DROP TABLE users;
