#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory: creates the
# grafana_reader login with the password Grafana's datasource uses (PIPELINE_GRAFANA_PASSWORD).
# Migration 0013 (run by the worker) then grants it SELECT on analytics only. The password is
# read with \getenv, so it is on no command line.
set -eu
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\getenv pw PIPELINE_GRAFANA_PASSWORD
CREATE ROLE grafana_reader LOGIN PASSWORD :'pw';
SQL
