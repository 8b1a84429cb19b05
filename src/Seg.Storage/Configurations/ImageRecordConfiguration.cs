using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Seg.Parameters;
using Seg.Storage.Entities;

namespace Seg.Storage.Configurations;

/// <summary>Table <c>images</c> (provenance, one row per task).</summary>
public sealed class ImageRecordConfiguration : IEntityTypeConfiguration<ImageRecord>
{
    /// <summary>Bounds of the text parameters' columns; the prompts are unbounded.</summary>
    private static readonly Dictionary<string, int> TextColumnLengths = new()
    {
        [ParameterNames.Model] = 200,
        [ParameterNames.Vae] = 200,
        [ParameterNames.Scheduler] = 64,
        [ParameterNames.SegLayers] = 1000,
    };

    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<ImageRecord> builder)
    {
        builder.ToTable("images", t =>
        {
            t.HasCheckConstraint("ck_images_size", "width > 0 AND height > 0 AND image_width > 0 AND image_height > 0");
            t.HasCheckConstraint("ck_images_steps", "steps > 0");
            t.HasCheckConstraint("ck_images_seg_blur_sigma", "seg_blur_sigma >= 0 AND seg_blur_sigma <> 'NaN'");
            t.HasCheckConstraint("ck_images_image_sha256", "image_sha256 ~ '^[0-9a-f]{64}$'");
        });
        builder.HasKey(i => i.TaskId);
        builder.Property(i => i.TaskId).ValueGeneratedNever();
        builder.Property(i => i.ParametersJson).HasColumnType("jsonb").IsRequired();
        builder.Property(i => i.ModelFileHashesJson).HasColumnType("jsonb").IsRequired();
        builder.Property(i => i.TimingsJson).HasColumnType("jsonb").IsRequired();
        builder.ComplexProperty(i => i.Parameters, parameters =>
        {
            // One column per render parameter, named as the parameter.
            foreach (var definition in ParameterDefinitions.All)
            {
                var column = parameters.Property(definition.ValueType, definition.PropertyName).HasColumnName(definition.Name);
                column.IsRequired(!definition.IsOptional);
                if (TextColumnLengths.TryGetValue(definition.Name, out var length))
                {
                    column.HasMaxLength(length);
                }
            }
        });
        builder.Property(i => i.PatchVersion).HasMaxLength(64);
        builder.Property(i => i.SoftwareVersion).HasMaxLength(64);
        builder.Property(i => i.WorkerId).HasMaxLength(200);
        builder.Property(i => i.WorkerHost).HasMaxLength(255);
        builder.Property(i => i.Device).HasMaxLength(200);
        builder.Property(i => i.OnnxRuntimeVersion).HasMaxLength(64);
        builder.Property(i => i.ExecutionProvider).HasMaxLength(64);
        builder.Property(i => i.ImageSha256).HasMaxLength(64);
        builder.Property(i => i.BlobName).HasMaxLength(1024);
        builder.Property(i => i.TraceId).HasMaxLength(32);
        builder.Property(i => i.BlobUri).HasMaxLength(2048);

        builder.HasOne<RenderTaskRecord>().WithOne().HasForeignKey<ImageRecord>(i => i.TaskId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Sweep>().WithMany().HasForeignKey(i => i.SweepId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(i => i.ImageSha256);
        // The blob audit pages the rows by blob name in ordinal (byte) order, as the blob store lists them.
        builder.HasIndex(i => i.BlobName).UseCollation("C");
    }
}
