using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Seg.Storage.Entities;

namespace Seg.Storage.Configurations;

/// <summary>Table <c>render_tasks</c>.</summary>
public sealed class RenderTaskConfiguration : IEntityTypeConfiguration<RenderTaskRecord>
{
    /// <summary>Name of the partial index that serves the dispatcher's "next pending tasks" query.</summary>
    public const string DispatchIndexName = "ix_render_tasks_dispatch";

    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<RenderTaskRecord> builder)
    {
        builder.ToTable("render_tasks", t =>
        {
            t.HasCheckConstraint("ck_render_tasks_status", LowerCaseEnumConverter<RenderTaskStatus>.CheckSql("status"));
            t.HasCheckConstraint("ck_render_tasks_task_index", "task_index >= 0");
            t.HasCheckConstraint("ck_render_tasks_attempts", "attempts >= 0");
            t.HasCheckConstraint("ck_render_tasks_resends", "resends >= 0");
            // Declared so that EF Core's statements suit a table with triggers (they keep sweep_counters).
            t.HasTrigger(Sql.SweepCounterTriggers.TaskTrigger);
        });
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).ValueGeneratedNever();
        builder.Property(t => t.Status).HasConversion<LowerCaseEnumConverter<RenderTaskStatus>>().HasMaxLength(16);
        builder.Property(t => t.WorkerId).HasMaxLength(200);
        builder.Property(t => t.Model).HasMaxLength(200).IsRequired();
        builder.Property(t => t.TraceParent).HasMaxLength(55);

        builder.HasOne<Sweep>().WithMany().HasForeignKey(t => t.SweepId).OnDelete(DeleteBehavior.Cascade);

        // Also serves as the foreign-key index on sweep_id.
        builder.HasIndex(t => new { t.SweepId, t.TaskIndex }).IsUnique();

        // Per-sweep progress: SELECT status, count(*) ... WHERE sweep_id = @id GROUP BY status.
        builder.HasIndex(t => new { t.SweepId, t.Status });

        // Dispatch: pending tasks by priority (high first), then first-in first-out. Only pending rows
        // are indexed, so the index stays small however many tasks have finished.
        builder.HasIndex(t => new { t.Priority, t.CreatedAt, t.TaskIndex })
            .HasDatabaseName(DispatchIndexName)
            .IsDescending(true, false, false)
            .HasFilter("status = 'pending'");

        // Queued tasks by the time their message was sent: the dispatcher sends again those no worker started in time.
        builder.HasIndex(t => t.QueuedAt)
            .HasDatabaseName("ix_render_tasks_queued")
            .HasFilter("status = 'queued'");

        // Running tasks of a worker (heartbeat checks, a worker that disappeared).
        builder.HasIndex(t => t.WorkerId)
            .HasDatabaseName("ix_render_tasks_running_by_worker")
            .HasFilter("status = 'running'");
    }
}
