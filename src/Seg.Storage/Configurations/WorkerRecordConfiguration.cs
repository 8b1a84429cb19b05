using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Seg.Storage.Entities;

namespace Seg.Storage.Configurations;

/// <summary>Table <c>workers</c>.</summary>
public sealed class WorkerRecordConfiguration : IEntityTypeConfiguration<WorkerRecord>
{
    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<WorkerRecord> builder)
    {
        builder.ToTable("workers", t =>
            t.HasCheckConstraint("ck_workers_slots", "slots >= 0 AND busy >= 0"));
        builder.HasKey(w => w.WorkerId);
        builder.Property(w => w.WorkerId).HasMaxLength(200);
        builder.Property(w => w.Host).HasMaxLength(255);
        builder.Property(w => w.DevicesJson).HasColumnType("jsonb").IsRequired();
        builder.Property(w => w.ModelsCachedJson).HasColumnType("jsonb").IsRequired();
        builder.Property(w => w.Version).HasMaxLength(64);
        builder.HasIndex(w => w.LastHeartbeatAt);
    }
}
