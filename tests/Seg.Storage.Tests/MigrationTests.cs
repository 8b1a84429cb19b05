using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Seg.Storage.Tests;

public sealed class MigrationTests(EmptyPostgresDatabaseFixture fixture) : IClassFixture<EmptyPostgresDatabaseFixture>
{
    private readonly PostgresDatabaseFixture _database = fixture.Database;

    [Fact]
    public async Task Migrations_apply_to_an_empty_database_and_revert()
    {
        await using var db = _database.CreateContext();
        Assert.Empty(await db.Database.GetAppliedMigrationsAsync());
        Assert.NotEmpty(db.Database.GetMigrations());

        await db.Database.MigrateAsync();

        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.False(db.Database.HasPendingModelChanges(), "the model has changes no migration covers: run dotnet ef migrations add");

        var tables = await QueryStringsAsync(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
        Assert.Equal(["__ef_migrations_history", "images", "render_tasks", "sweep_counters", "sweeps", "workers"], tables);

        var renderTaskColumns = await QueryStringsAsync(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'render_tasks' ORDER BY ordinal_position");
        Assert.Equal(
            ["id", "sweep_id", "task_index", "status", "priority", "attempts", "last_error", "worker_id",
             "model", "created_at", "queued_at", "started_at", "finished_at", "gpu_seconds", "trace_parent", "resends"],
            renderTaskColumns);

        var dispatch = Assert.Single(await QueryStringsAsync(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_render_tasks_dispatch'"));
        Assert.Contains("(priority DESC, created_at, task_index)", dispatch);
        Assert.Contains("WHERE ((status)::text = 'pending'::text)", dispatch);

        var byWorker = Assert.Single(await QueryStringsAsync(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_render_tasks_running_by_worker'"));
        Assert.Contains("WHERE ((status)::text = 'running'::text)", byWorker);

        var jsonb = await QueryStringsAsync(
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE data_type = 'jsonb' ORDER BY 1");
        Assert.Equal(
            ["images.model_file_hashes_json", "images.parameters_json", "images.timings_json",
             "sweeps.definition_json", "sweeps.tags_json", "workers.devices_json", "workers.models_cached_json"],
            jsonb);

        // The triggers that keep sweep_counters.
        Assert.Equal(["tr_render_tasks_count_delete", "tr_render_tasks_count_insert", "tr_render_tasks_count_update", "tr_sweeps_counters"],
            await QueryStringsAsync("SELECT tgname::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"));

        // Down migrations work too: back to an empty schema.
        await db.GetService<IMigrator>().MigrateAsync(Migration.InitialDatabase);
        Assert.Equal(["__ef_migrations_history"], await QueryStringsAsync(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"));
        await db.Database.MigrateAsync();
    }

    private Task<List<string>> QueryStringsAsync(string sql) => PostgresQueries.StringsAsync(_database.ConnectionString, sql);
}
