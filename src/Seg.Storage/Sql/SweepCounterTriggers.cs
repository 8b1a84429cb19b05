using Seg.Storage.Configurations;
using Seg.Storage.Entities;

namespace Seg.Storage.Sql;

/// <summary>
/// The triggers that keep <c>sweep_counters</c>: a row per sweep made when the sweep is inserted, and every insert,
/// update and delete of <c>render_tasks</c> added to its sweep's counts in the same statement's transaction.
/// </summary>
/// <remarks>
/// Triggers rather than code in each transition: every path that changes a task (the dispatcher's claims, the worker's
/// start and finish, cancel, requeue, recovery, tests, a hand-run SQL fix) keeps the counts right without knowing about
/// them, and a bulk change is counted in one step. On PostgreSQL they are statement-level with transition tables, so a
/// cancel of a million tasks or a COPY of a million adds one aggregate per sweep, not a million updates. The counters
/// live in their own table, not on <c>sweeps</c>, so that a task change never waits for the sweep row that cancel and
/// the dispatcher lock (a worker's start would otherwise deadlock with a cancel that holds the sweep and waits for the
/// task). One exception: the submit's COPY of a new sweep's tasks, which turns the triggers off and counts its pending
/// tasks itself (<see cref="BypassForNewSweepSql"/>). SQLite has only row-level triggers; its standalone sweeps are small.
/// </remarks>
public static class SweepCounterTriggers
{
    /// <summary>Name of the trigger family on <c>render_tasks</c> (declared in the model with <c>HasTrigger</c>).</summary>
    public const string TaskTrigger = "tr_render_tasks_count";

    /// <summary>Name of the trigger on <c>sweeps</c> that makes the counters row.</summary>
    public const string SweepTrigger = "tr_sweeps_counters";

    private static readonly (RenderTaskStatus Status, string Column)[] Counted =
    [
        (RenderTaskStatus.Pending, "pending"),
        (RenderTaskStatus.Queued, "queued"),
        (RenderTaskStatus.Running, "running"),
        (RenderTaskStatus.Succeeded, "succeeded"),
        (RenderTaskStatus.Failed, "failed"),
        (RenderTaskStatus.Cancelled, "cancelled"),
    ];

    /// <summary>The counters of every existing sweep computed from its tasks (the migration's back-fill).</summary>
    public static string BackfillSql => $"""
        INSERT INTO sweep_counters (sweep_id, {Columns()}, resends, gpu_seconds)
        SELECT s.id, {string.Join(", ", Counted.Select(c => $"count(t.id) FILTER (WHERE t.status = '{Text(c.Status)}')"))},
               coalesce(sum(t.resends), 0), coalesce(sum(t.gpu_seconds), 0)
        FROM sweeps s LEFT JOIN render_tasks t ON t.sweep_id = s.id
        GROUP BY s.id;
        """;

    /// <summary>
    /// PostgreSQL: adds <c>@count</c> pending tasks to the counters of sweep <c>@sweep_id</c>: what the insert trigger
    /// does for a COPY of new pending tasks (no resends, no GPU-seconds), for the one writer that inserts with triggers
    /// off (<see cref="BypassForNewSweepSql"/>).
    /// </summary>
    public static string PendingInsertedSql => $"UPDATE sweep_counters SET {Column(RenderTaskStatus.Pending)} = {Column(RenderTaskStatus.Pending)} + @count WHERE sweep_id = @sweep_id";

    /// <summary>
    /// PostgreSQL: turns this transaction's triggers off (<c>session_replication_role = replica</c>, which needs a
    /// superuser or a role granted SET on it): the submit's COPY of a new sweep's tasks then captures no transition
    /// table of a million rows for <see cref="TaskTrigger"/> and runs no foreign-key check per row, the two being a
    /// quarter of the COPY's server time. Safe only there: the sweep row was inserted by the same, uncommitted
    /// transaction (the foreign key holds by construction) and the writer adds the counts itself
    /// (<see cref="PendingInsertedSql"/>) after <see cref="RestoreTriggersSql"/>. Check constraints and unique
    /// indexes still apply.
    /// </summary>
    public const string BypassForNewSweepSql = "SET LOCAL session_replication_role = replica";

    /// <summary>PostgreSQL: turns the triggers back on after <see cref="BypassForNewSweepSql"/>.</summary>
    public const string RestoreTriggersSql = "SET LOCAL session_replication_role = origin";

    /// <summary>PostgreSQL: the functions and triggers (statement-level on <c>render_tasks</c>, with transition tables).</summary>
    public static string PostgreSqlCreate => $$"""
        CREATE FUNCTION {{SweepTrigger}}() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            INSERT INTO sweep_counters (sweep_id, {{Columns()}}, resends, gpu_seconds)
            VALUES (NEW.id, {{string.Join(", ", Counted.Select(_ => "0"))}}, 0, 0);
            RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER {{SweepTrigger}} AFTER INSERT ON sweeps FOR EACH ROW EXECUTE FUNCTION {{SweepTrigger}}();

        CREATE FUNCTION {{TaskTrigger}}() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {{ApplyPostgreSql(Rows("new_rows", "+"))}}
            ELSIF TG_OP = 'UPDATE' THEN
                {{ApplyPostgreSql(Rows("new_rows", "+") + " UNION ALL " + Rows("old_rows", "-"))}}
            ELSE
                {{ApplyPostgreSql(Rows("old_rows", "-"))}}
            END IF;
            RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER {{TaskTrigger}}_insert AFTER INSERT ON render_tasks REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {{TaskTrigger}}();
        CREATE TRIGGER {{TaskTrigger}}_update AFTER UPDATE ON render_tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {{TaskTrigger}}();
        CREATE TRIGGER {{TaskTrigger}}_delete AFTER DELETE ON render_tasks REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {{TaskTrigger}}();
        """;

    /// <summary>PostgreSQL: drops what <see cref="PostgreSqlCreate"/> made.</summary>
    public static string PostgreSqlDrop => $"""
        DROP TRIGGER IF EXISTS {TaskTrigger}_insert ON render_tasks;
        DROP TRIGGER IF EXISTS {TaskTrigger}_update ON render_tasks;
        DROP TRIGGER IF EXISTS {TaskTrigger}_delete ON render_tasks;
        DROP FUNCTION IF EXISTS {TaskTrigger}();
        DROP TRIGGER IF EXISTS {SweepTrigger} ON sweeps;
        DROP FUNCTION IF EXISTS {SweepTrigger}();
        """;

    /// <summary>SQLite: row-level triggers doing the same (the standalone mode creates them with the schema).</summary>
    public static string SqliteCreate => $"""
        CREATE TRIGGER {SweepTrigger} AFTER INSERT ON sweeps BEGIN
            INSERT INTO sweep_counters (sweep_id, {Columns()}, resends, gpu_seconds)
            VALUES (NEW.id, {string.Join(", ", Counted.Select(_ => "0"))}, 0, 0);
        END;
        CREATE TRIGGER {TaskTrigger}_insert AFTER INSERT ON render_tasks BEGIN
            {ApplySqlite(("NEW", "+"))}
        END;
        CREATE TRIGGER {TaskTrigger}_update AFTER UPDATE OF status, resends, gpu_seconds, sweep_id ON render_tasks BEGIN
            {ApplySqlite(("OLD", "-"))}
            {ApplySqlite(("NEW", "+"))}
        END;
        CREATE TRIGGER {TaskTrigger}_delete AFTER DELETE ON render_tasks BEGIN
            {ApplySqlite(("OLD", "-"))}
        END;
        """;

    private static string Columns() => string.Join(", ", Counted.Select(c => c.Column));

    private static string Column(RenderTaskStatus status) => Counted.Single(c => c.Status == status).Column;

    private static string Text(RenderTaskStatus status) => LowerCaseEnumConverter<RenderTaskStatus>.ToText(status);

    /// <summary>One row per changed task: its sweep, status and signed amounts.</summary>
    private static string Rows(string table, string sign) =>
        $"SELECT sweep_id, status, {sign}1 AS n, {sign}resends AS resends, {sign}gpu_seconds AS gpu_seconds FROM {table}";

    /// <summary>Adds the rows' amounts, summed per sweep, to the counters (PostgreSQL).</summary>
    private static string ApplyPostgreSql(string rows) => $"""
        UPDATE sweep_counters AS c SET {string.Join(", ", Counted.Select(k => $"{k.Column} = c.{k.Column} + d.{k.Column}"))},
                resends = c.resends + d.resends, gpu_seconds = c.gpu_seconds + d.gpu_seconds
                FROM (SELECT sweep_id, {string.Join(", ", Counted.Select(k => $"coalesce(sum(n) FILTER (WHERE status = '{Text(k.Status)}'), 0) AS {k.Column}"))},
                             sum(resends) AS resends, sum(gpu_seconds) AS gpu_seconds
                      FROM ({rows}) AS changed GROUP BY sweep_id) AS d
                WHERE c.sweep_id = d.sweep_id;
        """;

    /// <summary>Adds one row's amounts to its sweep's counters (SQLite; a comparison is 0 or 1 there).</summary>
    private static string ApplySqlite((string Row, string Sign) change) =>
        $"UPDATE sweep_counters SET {string.Join(", ", Counted.Select(k => $"{k.Column} = {k.Column} {change.Sign} ({change.Row}.status = '{Text(k.Status)}')"))}, " +
        $"resends = resends {change.Sign} {change.Row}.resends, gpu_seconds = gpu_seconds {change.Sign} {change.Row}.gpu_seconds " +
        $"WHERE sweep_id = {change.Row}.sweep_id;";
}
