using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Seg.Storage.Sql;

/// <summary>
/// Builds <c>INSERT ... ON CONFLICT</c> for one entity from the EF model (column names, types and value
/// converters), because EF Core has no upsert and the bulk/upsert packages are not available here.
/// Reading the model keeps the statement in step with the migrations.
/// </summary>
internal static class EntityInsertSql
{
    /// <summary>Executes the insert; returns the number of rows written (0 when the conflict clause skipped it).</summary>
    /// <param name="db">Context whose connection and current transaction are used.</param>
    /// <param name="entity">Row to insert.</param>
    /// <param name="updateOnConflict">Columns to overwrite from the new row on a key conflict; empty means DO NOTHING.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    public static Task<int> ExecuteAsync<T>(
        DbContext db,
        T entity,
        IReadOnlyCollection<string> updateOnConflict,
        CancellationToken cancellationToken)
        where T : class
    {
        var entityType = db.Model.FindEntityType(typeof(T))
            ?? throw new InvalidOperationException($"{typeof(T).Name} is not part of the model");
        var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
        var sqlHelper = db.GetService<ISqlGenerationHelper>();
        using var command = db.Database.GetDbConnection().CreateCommand();

        var columns = new List<string>();
        var parameters = new List<DbParameter>();
        // Flattened: the columns of complex properties (an image's render parameters) too.
        foreach (var property in entityType.GetFlattenedProperties())
        {
            var name = "p" + parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var value = property.GetGetter().GetClrValueUsingContainingEntity(entity);
            parameters.Add(property.GetRelationalTypeMapping().CreateParameter(command, name, value, property.IsNullable));
            columns.Add(property.GetColumnName(table)!);
        }

        var keyColumns = entityType.FindPrimaryKey()!.Properties.Select(p => p.GetColumnName(table)!).ToList();
        var sql = new StringBuilder()
            .Append("INSERT INTO ").Append(sqlHelper.DelimitIdentifier(table.Name, table.Schema))
            .Append(" (").AppendJoin(", ", columns.Select(c => sqlHelper.DelimitIdentifier(c))).Append(')')
            .Append(" VALUES (").AppendJoin(", ", parameters.Select(p => "@" + p.ParameterName)).Append(')')
            .Append(" ON CONFLICT (").AppendJoin(", ", keyColumns.Select(c => sqlHelper.DelimitIdentifier(c))).Append(')');
        if (updateOnConflict.Count == 0)
        {
            sql.Append(" DO NOTHING");
        }
        else
        {
            sql.Append(" DO UPDATE SET ").AppendJoin(", ", updateOnConflict.Select(c =>
                $"{sqlHelper.DelimitIdentifier(c)} = EXCLUDED.{sqlHelper.DelimitIdentifier(c)}"));
        }

        return db.Database.ExecuteSqlRawAsync(sql.ToString(), parameters, cancellationToken);
    }

    /// <summary>Column names of every property of <typeparamref name="T"/> except the given ones.</summary>
    public static IReadOnlyCollection<string> ColumnsExcept<T>(DbContext db, params string[] propertyNames)
    {
        var entityType = db.Model.FindEntityType(typeof(T))!;
        var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
        return entityType.GetProperties()
            .Where(p => !propertyNames.Contains(p.Name))
            .Select(p => p.GetColumnName(table)!)
            .ToList();
    }
}
