using System.Text.RegularExpressions;
using Seg.Storage.Entities;
using Seg.Storage.Sql;

namespace Seg.Storage.Provenance;

/// <summary>Stores image provenance idempotently: a redelivered task cannot write a second row.</summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="time">Clock for <see cref="ImageRecord.CreatedAt"/> when the caller left it unset.</param>
public sealed partial class ProvenanceWriter(SegDbContext db, TimeProvider time)
{
    /// <summary>
    /// Inserts <paramref name="record"/> unless a row for its task exists
    /// (<c>INSERT ... ON CONFLICT (task_id) DO NOTHING</c>).
    /// </summary>
    /// <param name="record">Provenance of one image. Its task row must exist.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>True when this call inserted the row; false when the task already had one (the row is left as it was).</returns>
    /// <exception cref="ArgumentException">A field breaks a rule; the message names it.</exception>
    public async Task<bool> TryInsertAsync(ImageRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        Validate(record);
        record.CreatedAt = record.CreatedAt == default ? time.GetUtcNow() : record.CreatedAt.ToUniversalTime();
        var rows = await EntityInsertSql.ExecuteAsync(db, record, [], cancellationToken).ConfigureAwait(false);
        return rows == 1;
    }

    private static void Validate(ImageRecord r)
    {
        Require(r.TaskId != Guid.Empty, "task_id must not be empty");
        Require(r.SweepId != Guid.Empty, "sweep_id must not be empty");
        Require(Sha256Hex().IsMatch(r.ImageSha256), $"image_sha256 must be 64 lower-case hex digits (got '{r.ImageSha256}')");
        Require(r.ImageWidth > 0, $"image_width must be > 0 (got {r.ImageWidth})");
        Require(r.ImageHeight > 0, $"image_height must be > 0 (got {r.ImageHeight})");
        // The parameters' own rules, so that no row holds what no render could have had.
        var errors = r.Parameters.Validate();
        Require(errors.Count == 0, string.Join("; ", errors));
        Require(r.BlobUri.Length > 0, "blob_uri must not be empty");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}
