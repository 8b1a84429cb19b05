using Microsoft.EntityFrameworkCore;
using Npgsql;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Storage.Tests;

/// <summary>
/// PostgreSQL: the submit's COPY runs with the triggers off when the role may turn them off (a superuser, as the tests
/// connect), and with them on otherwise; either way the counters, the foreign key and the triggers afterwards are right.
/// </summary>
public sealed class TaskBulkWriterTriggersTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task A_superuser_submit_counts_its_tasks_and_leaves_the_triggers_on()
    {
        await using var db = database.CreateContext();
        var sweep = TestData.NewSweep();
        await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, TestData.NewTasks(40).ToList(), None);

        await AssertPendingCountedAsync(db, sweep.Id, 40);
        // The same (pooled) session afterwards: the counter trigger fires again.
        await db.RenderTasks.Where(t => t.SweepId == sweep.Id && t.TaskIndex < 3)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Cancelled));
        var counters = await db.SweepCounters.AsNoTracking().SingleAsync(c => c.SweepId == sweep.Id);
        Assert.Equal((37, 3), (counters.Pending, counters.Cancelled));
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var role = new NpgsqlCommand("SELECT current_setting('session_replication_role')", connection);
        Assert.Equal("origin", await role.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_role_that_may_not_turn_triggers_off_submits_with_them_on()
    {
        var name = "seg_plain_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(database.ConnectionString))
        {
            await admin.OpenAsync();
            await Execute(admin, $"CREATE ROLE {name} LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO {name}");
        }

        try
        {
            var builder = new DbContextOptionsBuilder<SegDbContext>();
            SegDbContext.Configure(builder, new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = name, Pooling = false }.ConnectionString);
            await using var db = new SegDbContext(builder.Options);
            var sweep = TestData.NewSweep();
            var result = await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, TestData.NewTasks(25).ToList(), None);

            Assert.Equal(25, result.TaskCount);
            await using var check = database.CreateContext();
            await AssertPendingCountedAsync(check, sweep.Id, 25);
        }
        finally
        {
            await using var admin = new NpgsqlConnection(database.ConnectionString);
            await admin.OpenAsync();
            await Execute(admin, $"DROP OWNED BY {name}; DROP ROLE {name}");
        }
    }

    [Fact]
    public async Task Tasks_of_a_sweep_that_does_not_exist_are_refused_by_the_foreign_key()
    {
        // The triggers are off only for the COPY of a sweep inserted by the same transaction; any other insert keeps the check.
        await using var db = database.CreateContext();
        var error = await Assert.ThrowsAsync<PostgresException>(() => db.Database.ExecuteSqlRawAsync(
            "INSERT INTO render_tasks (id, sweep_id, task_index, status, priority, attempts, model, created_at, gpu_seconds, resends) " +
            "VALUES (gen_random_uuid(), gen_random_uuid(), 0, 'pending', 0, 0, 'm', now(), 0, 0)"));
        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, error.SqlState);
    }

    private static async Task AssertPendingCountedAsync(SegDbContext db, Guid sweepId, int expected)
    {
        var counters = await db.SweepCounters.AsNoTracking().SingleAsync(c => c.SweepId == sweepId);
        Assert.Equal(expected, await db.RenderTasks.CountAsync(t => t.SweepId == sweepId && t.Status == RenderTaskStatus.Pending));
        Assert.Equal((expected, 0, 0, 0, 0, 0), (counters.Pending, counters.Queued, counters.Running, counters.Succeeded, counters.Failed, counters.Cancelled));
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
