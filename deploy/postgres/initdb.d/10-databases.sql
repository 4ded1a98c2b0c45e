-- Runs once, when the postgres container starts on an empty volume
-- (docker-compose.yml mounts this directory at /docker-entrypoint-initdb.d).
-- faded_skies: what the services use (each in its own schema, created by its migrations).
-- faded_skies_test: for `make test` against the compose stack.
CREATE DATABASE faded_skies OWNER faded_skies;
CREATE DATABASE faded_skies_test OWNER faded_skies;
