using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Seg.Storage.Entities;
using Seg.Storage.Sql;

namespace Seg.Storage.Configurations;

/// <summary>Table <c>sweep_counters</c>, written only by the triggers of <see cref="SweepCounterTriggers"/>.</summary>
public sealed class SweepCountersConfiguration : IEntityTypeConfiguration<SweepCounters>
{
    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<SweepCounters> builder)
    {
        builder.ToTable("sweep_counters");
        builder.HasKey(c => c.SweepId);
        builder.Property(c => c.SweepId).ValueGeneratedNever();
        builder.HasOne<Sweep>().WithOne().HasForeignKey<SweepCounters>(c => c.SweepId).OnDelete(DeleteBehavior.Cascade);
    }
}
