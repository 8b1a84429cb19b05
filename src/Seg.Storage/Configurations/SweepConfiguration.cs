using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Seg.Storage.Entities;

namespace Seg.Storage.Configurations;

/// <summary>Table <c>sweeps</c>.</summary>
public sealed class SweepConfiguration : IEntityTypeConfiguration<Sweep>
{
    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<Sweep> builder)
    {
        builder.ToTable("sweeps", t =>
        {
            t.HasCheckConstraint("ck_sweeps_status", LowerCaseEnumConverter<SweepStatus>.CheckSql("status"));
            t.HasCheckConstraint("ck_sweeps_task_count", "task_count >= 0");
            t.HasCheckConstraint("ck_sweeps_max_attempts", "max_attempts > 0");
            t.HasTrigger(Sql.SweepCounterTriggers.SweepTrigger);
        });
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Id).ValueGeneratedNever();
        builder.Property(s => s.Name).HasMaxLength(200).IsRequired();
        builder.Property(s => s.IdempotencyKey).HasMaxLength(200);
        builder.Property(s => s.SubmittedBy).HasMaxLength(64).IsRequired();
        builder.Property(s => s.DefinitionSha256).HasMaxLength(64).IsRequired();
        builder.Property(s => s.DefinitionJson).HasColumnType("jsonb").IsRequired();
        builder.Property(s => s.TagsJson).HasColumnType("jsonb").IsRequired();
        builder.Property(s => s.Status).HasConversion<LowerCaseEnumConverter<SweepStatus>>().HasMaxLength(16);

        // PostgreSQL treats NULLs as distinct, so sweeps without a key do not collide.
        builder.HasIndex(s => s.IdempotencyKey).IsUnique();
        builder.HasIndex(s => s.Status);
        builder.HasIndex(s => s.CreatedAt);
    }
}
