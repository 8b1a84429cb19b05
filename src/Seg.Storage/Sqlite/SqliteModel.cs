using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Seg.Storage.Entities;

namespace Seg.Storage.Sqlite;

/// <summary>
/// Where the SQLite model differs from the PostgreSQL one (which the configurations in
/// <c>Configurations/</c> describe and the migrations follow). Applied only on SQLite, so the PostgreSQL
/// model, and with it the migrations, stay exactly as they are.
/// </summary>
internal static class SqliteModel
{
    /// <summary>Column type the configurations give JSON columns on PostgreSQL.</summary>
    private const string JsonbColumnType = "jsonb";

    /// <summary>
    /// Timestamps as UTC <see cref="DateTime"/> (ISO text on SQLite): EF Core cannot order or compare
    /// <see cref="DateTimeOffset"/> columns on SQLite, and the dispatcher orders by <c>created_at</c>.
    /// </summary>
    public static void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcDateTimeOffsetConverter>();
        configurationBuilder.Properties<DateTimeOffset?>().HaveConversion<UtcDateTimeOffsetConverter>();
    }

    /// <summary>Changes the PostgreSQL-only parts of the model built by the configurations.</summary>
    public static void Adapt(ModelBuilder modelBuilder)
    {
        foreach (var entityType in modelBuilder.Model.GetEntityTypes())
        {
            var table = entityType.GetTableName()!;
            foreach (var property in entityType.GetProperties().Where(IsJsonb).ToList())
            {
                // jsonb becomes TEXT; json_valid keeps the guarantee that only JSON gets in.
                var column = property.GetColumnName();
                property.SetColumnType("TEXT");
                entityType.AddCheckConstraint($"ck_{table}_{column}_is_json", $"json_valid({column})");
            }
        }

        var images = modelBuilder.Entity<ImageRecord>().Metadata;

        // PostgreSQL's check also refuses 'NaN'; SQLite stores a NaN as NULL, which NOT NULL refuses.
        // +Infinity is an ordinary REAL value in SQLite and passes.
        images.RemoveCheckConstraint("ck_images_seg_blur_sigma");
        images.AddCheckConstraint("ck_images_seg_blur_sigma", "seg_blur_sigma >= 0");

        // SQLite has no regular expressions: 64 characters, none outside 0-9a-f.
        images.RemoveCheckConstraint("ck_images_image_sha256");
        images.AddCheckConstraint("ck_images_image_sha256", "length(image_sha256) = 64 AND image_sha256 NOT GLOB '*[^0-9a-f]*'");
    }

    private static bool IsJsonb(IMutableProperty property) =>
        string.Equals(property.GetColumnType(), JsonbColumnType, StringComparison.OrdinalIgnoreCase);
}
