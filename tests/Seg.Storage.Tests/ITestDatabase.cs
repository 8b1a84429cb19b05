using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Seg.Storage.Tests;

/// <summary>A database for one test class, on one provider; the shared test bodies run on each.</summary>
public interface ITestDatabase
{
    SegDatabaseProvider Provider { get; }

    SegDbContext CreateContext();
}

/// <summary>What each provider reports for the same refusal.</summary>
public static class DatabaseErrors
{
    /// <summary>A duplicate primary or unique key.</summary>
    public static void AssertDuplicateKey(DbException error)
    {
        switch (error)
        {
            case PostgresException pg:
                Assert.Equal(PostgresErrorCodes.UniqueViolation, pg.SqlState);
                break;
            case SqliteException sqlite:
                Assert.Contains(sqlite.SqliteExtendedErrorCode, new[] { SQLitePCL.raw.SQLITE_CONSTRAINT_PRIMARYKEY, SQLitePCL.raw.SQLITE_CONSTRAINT_UNIQUE });
                break;
            default:
                Assert.Fail($"unexpected {error.GetType().Name}: {error.Message}");
                break;
        }
    }
}
