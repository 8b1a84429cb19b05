namespace Seg.Storage;

/// <summary>The database behind <see cref="SegDbContext"/>.</summary>
public enum SegDatabaseProvider
{
    /// <summary>PostgreSQL through Npgsql: the farm's database, with migrations. The default.</summary>
    PostgreSql,

    /// <summary>A SQLite file: the standalone mode (<c>seg run</c>), schema created without migrations.</summary>
    Sqlite,
}
