using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Seg.Parameters;
using Seg.Storage.Entities;
using Seg.Storage.Provenance;
using Seg.Storage.Tasks;

namespace Seg.Storage.Tests;

/// <summary>What <see cref="SegDatabaseInitializer"/> makes of a SQLite file, and SQLite's own storage of the values.</summary>
public sealed class SqliteSchemaTests(SqliteDatabaseFixture database) : IClassFixture<SqliteDatabaseFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task The_schema_has_the_tables_json_text_columns_checks_and_partial_indexes()
    {
        Assert.Equal(["images", "render_tasks", "sweep_counters", "sweeps", "workers"],
            await QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"));
        Assert.Equal(["wal"], await QueryAsync<string>("PRAGMA journal_mode"));
        Assert.Equal(["tr_render_tasks_count_delete", "tr_render_tasks_count_insert", "tr_render_tasks_count_update", "tr_sweeps_counters"],
            await QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"));

        Assert.Equal(
            ["id", "sweep_id", "task_index", "status", "priority", "attempts", "last_error", "worker_id",
             "model", "created_at", "queued_at", "started_at", "finished_at", "gpu_seconds", "resends", "trace_parent"],
            await QueryAsync<string>("SELECT name FROM pragma_table_info('render_tasks') ORDER BY cid"));
        Assert.Equal(["TEXT"], await QueryAsync<string>("SELECT type FROM pragma_table_info('images') WHERE name = 'parameters_json'"));
        Assert.Equal(["REAL"], await QueryAsync<string>("SELECT type FROM pragma_table_info('images') WHERE name = 'seg_blur_sigma'"));
        // A column per render parameter, named as the parameter.
        var imageColumns = await QueryAsync<string>("SELECT name FROM pragma_table_info('images')");
        Assert.All(ParameterDefinitions.All, definition => Assert.Contains(definition.Name, imageColumns));

        var dispatch = Assert.Single(await QueryAsync<string>("SELECT sql FROM sqlite_master WHERE name = 'ix_render_tasks_dispatch'"));
        Assert.Contains("\"priority\" DESC, \"created_at\", \"task_index\")", dispatch);
        Assert.Contains("WHERE status = 'pending'", dispatch);
        var byWorker = Assert.Single(await QueryAsync<string>("SELECT sql FROM sqlite_master WHERE name = 'ix_render_tasks_running_by_worker'"));
        Assert.Contains("WHERE status = 'running'", byWorker);

        // Every JSON column checks its text; the PostgreSQL-only checks were rewritten.
        var images = Assert.Single(await QueryAsync<string>("SELECT sql FROM sqlite_master WHERE name = 'images'"));
        Assert.Contains("json_valid(parameters_json)", images);
        Assert.Contains("json_valid(model_file_hashes_json)", images);
        Assert.Contains("json_valid(timings_json)", images);
        Assert.DoesNotContain("~", images);
        Assert.DoesNotContain("'NaN'", images);
        var sweeps = Assert.Single(await QueryAsync<string>("SELECT sql FROM sqlite_master WHERE name = 'sweeps'"));
        Assert.Contains("json_valid(definition_json)", sweeps);
        Assert.Contains("json_valid(tags_json)", sweeps);
    }

    [Fact]
    public async Task Initializing_again_keeps_the_data_and_a_file_with_another_schema_is_refused()
    {
        var (sweepId, _) = await NewTaskAsync();
        await using (var db = database.CreateContext())
        {
            await SegDatabaseInitializer.InitializeAsync(db, None);
            Assert.True(await db.Sweeps.AnyAsync(s => s.Id == sweepId));
        }

        var otherFolder = Path.Combine(database.Folder, "other");
        var otherPath = Path.Combine(otherFolder, "old.db");
        Directory.CreateDirectory(otherFolder);
        await using (var connection = new SqliteConnection(SegDbContext.SqliteConnectionString(otherPath)))
        {
            await connection.OpenAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = "CREATE TABLE sweeps (id TEXT PRIMARY KEY); PRAGMA user_version = 7;";
            await create.ExecuteNonQueryAsync();
        }

        var builder = new DbContextOptionsBuilder<SegDbContext>();
        SegDbContext.ConfigureSqlite(builder, SegDbContext.SqliteConnectionString(otherPath));
        await using var other = new SegDbContext(builder.Options);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SegDatabaseInitializer.InitializeAsync(other, None));
        Assert.Contains("has another schema (user_version 7", error.Message);
        Assert.Contains("SQLite databases are not migrated", error.Message);
    }

    [Fact]
    public async Task A_new_file_in_a_missing_folder_is_created()
    {
        var path = Path.Combine(database.Folder, "new", "deeper", "seg.db");
        var builder = new DbContextOptionsBuilder<SegDbContext>();
        SegDbContext.ConfigureSqlite(builder, SegDbContext.SqliteConnectionString(path));
        await using var db = new SegDbContext(builder.Options);

        await SegDatabaseInitializer.InitializeAsync(db, None);

        Assert.True(File.Exists(path));
        Assert.Equal(0, await db.Sweeps.CountAsync());
    }

    [Fact]
    public async Task Infinity_is_a_real_timestamps_are_sortable_utc_text_and_guids_are_text()
    {
        var (sweepId, taskId) = await NewTaskAsync();
        await using (var db = database.CreateContext())
        {
            Assert.True(await new ProvenanceWriter(db, TimeProvider.System).TryInsertAsync(TestData.NewImage(sweepId, taskId), None));
        }

        Assert.Equal(["real"], await QueryAsync<string>("SELECT typeof(seg_blur_sigma) FROM images"));
        Assert.Equal([double.PositiveInfinity], await QueryAsync<double>("SELECT seg_blur_sigma FROM images"));
        Assert.Equal([1L], await QueryAsync<long>("SELECT count(*) FROM images WHERE seg_blur_sigma > 1e308"));

        var created = Assert.Single(await QueryAsync<string>("SELECT created_at FROM sweeps"));
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$", created);
        Assert.Equal([taskId.ToString().ToUpperInvariant()], await QueryAsync<string>("SELECT id FROM render_tasks"));

        // An offset other than zero is stored as the same instant.
        await using var check = database.CreateContext();
        var instant = new DateTimeOffset(2026, 3, 1, 14, 30, 0, TimeSpan.FromHours(2));
        await check.Sweeps.Where(s => s.Id == sweepId).ExecuteUpdateAsync(s => s.SetProperty(x => x.FinishedAt, instant));
        Assert.Contains("2026-03-01 12:30:00", await QueryAsync<string>("SELECT finished_at FROM sweeps"));
        Assert.Equal(instant, (await check.Sweeps.AsNoTracking().SingleAsync(s => s.Id == sweepId)).FinishedAt);
        Assert.Equal(1, await check.Sweeps.CountAsync(s => s.FinishedAt > instant.AddSeconds(-1) && s.FinishedAt < instant.AddSeconds(1)));
    }

    [Fact]
    public async Task Foreign_keys_cascade_and_connections_wait_for_locks()
    {
        var (sweepId, taskId) = await NewTaskAsync();
        await using var db = database.CreateContext();
        await db.Database.OpenConnectionAsync();
        try
        {
            Assert.Equal([30000L], await QueryOnAsync<long>(db, "PRAGMA busy_timeout"));
            Assert.Equal([1L], await QueryOnAsync<long>(db, "PRAGMA foreign_keys"));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        await db.Sweeps.Where(s => s.Id == sweepId).ExecuteDeleteAsync();
        Assert.False(await db.RenderTasks.AnyAsync(t => t.Id == taskId));
    }

    [Fact]
    public async Task A_transaction_holds_the_write_lock_from_its_start()
    {
        await NewTaskAsync();
        await using var db = database.CreateContext();
        await using var transaction = await db.Database.BeginTransactionAsync();
        Assert.Equal(1, await db.Sweeps.CountAsync());

        // Only a read so far, yet another writer must wait (BEGIN IMMEDIATE), here for at most 1 s.
        await using var other = new SqliteConnection(new SqliteConnectionStringBuilder(database.ConnectionString) { DefaultTimeout = 1 }.ToString());
        await other.OpenAsync();
        await using var update = other.CreateCommand();
        update.CommandText = "UPDATE sweeps SET priority = priority + 1";
        var error = await Assert.ThrowsAsync<SqliteException>(() => update.ExecuteNonQueryAsync());
        Assert.Equal(SQLitePCL.raw.SQLITE_BUSY, error.SqliteErrorCode);
    }

    [Fact]
    public async Task The_database_refuses_what_postgres_refuses()
    {
        var (sweepId, taskId) = await NewTaskAsync();
        await using var db = database.CreateContext();
        var taskText = taskId.ToString().ToUpperInvariant();

        async Task<SqliteException> RefusedAsync(string sql) =>
            await Assert.ThrowsAsync<SqliteException>(() => db.Database.ExecuteSqlRawAsync(sql));

        Assert.Contains("ck_render_tasks_status", (await RefusedAsync($"UPDATE render_tasks SET status = 'lost' WHERE id = '{taskText}'")).Message);
        Assert.Contains("ck_sweeps_definition_json_is_json", (await RefusedAsync($"UPDATE sweeps SET definition_json = 'not json' WHERE id = '{sweepId.ToString().ToUpperInvariant()}'")).Message);

        var image = TestData.NewImage(sweepId, taskId);
        Assert.True(await new ProvenanceWriter(db, TimeProvider.System).TryInsertAsync(image, None));
        Assert.Contains("ck_images_image_sha256", (await RefusedAsync($"UPDATE images SET image_sha256 = upper(image_sha256) WHERE task_id = '{taskText}'")).Message);
        Assert.Contains("ck_images_image_sha256", (await RefusedAsync($"UPDATE images SET image_sha256 = substr(image_sha256, 2) WHERE task_id = '{taskText}'")).Message);
        Assert.Contains("ck_images_seg_blur_sigma", (await RefusedAsync($"UPDATE images SET seg_blur_sigma = -1 WHERE task_id = '{taskText}'")).Message);
        // NaN becomes NULL in SQLite, which the column refuses.
        Assert.Contains("NOT NULL", (await RefusedAsync($"UPDATE images SET seg_blur_sigma = 9e999 - 9e999 WHERE task_id = '{taskText}'")).Message);
        Assert.Equal(RenderTaskStatus.Pending, (await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == taskId)).Status);
    }

    private async Task<(Guid SweepId, Guid TaskId)> NewTaskAsync()
    {
        await using var db = database.CreateContext();
        await db.Sweeps.ExecuteDeleteAsync();
        var sweep = TestData.NewSweep();
        var task = TestData.NewTasks(1).Single();
        await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, [task], None);
        return (sweep.Id, task.Id);
    }

    private async Task<List<T>> QueryAsync<T>(string sql)
    {
        await using var connection = new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync();
        return await ReadAsync<T>(connection, sql);
    }

    private static async Task<List<T>> QueryOnAsync<T>(SegDbContext db, string sql) =>
        await ReadAsync<T>((SqliteConnection)db.Database.GetDbConnection(), sql);

    private static async Task<List<T>> ReadAsync<T>(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<T>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetFieldValue<T>(0));
        }

        return values;
    }
}
