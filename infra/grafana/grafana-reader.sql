-- The read-only role through which Grafana reads provenance (datasource "Seg PostgreSQL"). Run it once per database,
-- as the owner of the farm's tables, after the coordinator has migrated the database (it may run again: it only adds):
--   psql "$DATABASE_URL" -f infra/grafana/grafana-reader.sql
--   psql "$DATABASE_URL" -c "ALTER ROLE seg_grafana PASSWORD '...'"       (infra/grafana/create-reader.sh does both)
-- SELECT on the farm's tables, now and on tables later migrations add; every transaction read-only; short statements.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'seg_grafana') THEN
        CREATE ROLE seg_grafana LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO seg_grafana', current_database());
END
$$;

ALTER ROLE seg_grafana SET default_transaction_read_only = on;
ALTER ROLE seg_grafana SET statement_timeout = '30s';
GRANT USAGE ON SCHEMA public TO seg_grafana;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO seg_grafana;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO seg_grafana;
