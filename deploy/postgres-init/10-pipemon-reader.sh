#!/bin/sh
# Run once by the postgres image, when it initialises an empty data directory
# (/docker-entrypoint-initdb.d), before the server takes connections, so before pipemon's first
# migration. It gives Grafana a login: pipemon's migration 2 creates pipemon_reader without LOGIN
# only when the role is missing, and grants SELECT on the dashboards' tables to the role that
# exists, so this role, with a LOGIN and the password Grafana's datasource uses, gets the grants.
# Changing PIPEMON_READER_PASSWORD later needs ALTER ROLE pipemon_reader PASSWORD '...' as well.
# test/docker-compose.native.test.ts runs this script on a new PostgreSQL server, then pipemon, then logs in as
# the role.
set -e
: "${PIPEMON_READER_PASSWORD:?is not set: docker-compose.yml passes it to the postgres service from .env}"
# psql's :'var' quotes the password as a literal, whatever characters it holds.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set reader_password="$PIPEMON_READER_PASSWORD" <<'SQL'
CREATE ROLE pipemon_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reader_password';
-- As pipemon's embedded server makes it: whatever a dashboard sends, its transactions cannot write.
ALTER ROLE pipemon_reader SET default_transaction_read_only = on;
SQL
