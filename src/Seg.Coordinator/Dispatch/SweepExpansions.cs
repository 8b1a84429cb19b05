using System.Diagnostics.CodeAnalysis;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Seg.Contracts.Sweeps;
using Seg.Parameters;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Dispatch;

/// <summary>
/// The render parameters of a task to dispatch, rebuilt from its sweep's stored definition and the task's index
/// (<see cref="SweepExpander"/>): the task rows keep no copy of them, so that a million-task submit writes only what
/// varies per row. Definitions never change once stored, so each sweep's expansion is kept in a bounded cache (sized
/// by the definition's length) and parsed once, not once per dispatch round.
/// </summary>
public sealed class SweepExpansions : IDisposable
{
    /// <summary>Most definition text (in characters) whose expansions are kept: a few hundred ordinary sweeps.</summary>
    public const long CacheCharacters = 64L * 1024 * 1024;

    /// <summary>An expansion not used for this long is dropped (its sweep has most likely ended).</summary>
    private static readonly TimeSpan Unused = TimeSpan.FromMinutes(10);

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = CacheCharacters });

    /// <summary>The expansions of <paramref name="sweepIds"/>: cached ones, the rest read from the database in one query.</summary>
    /// <param name="db">Database context of the caller's round.</param>
    /// <param name="sweepIds">Sweeps of the tasks to dispatch.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One expansion per sweep that exists.</returns>
    public async Task<IReadOnlyDictionary<Guid, SweepExpansion>> GetAsync(SegDbContext db, IEnumerable<Guid> sweepIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var found = new Dictionary<Guid, SweepExpansion>();
        var missing = new List<Guid>();
        foreach (var id in sweepIds.Distinct())
        {
            if (_cache.TryGetValue(id, out SweepExpansion? cached) && cached is not null)
            {
                found[id] = cached;
            }
            else
            {
                missing.Add(id);
            }
        }

        if (missing.Count == 0)
        {
            return found;
        }

        var rows = await db.Sweeps.AsNoTracking().Where(s => missing.Contains(s.Id))
            .Select(s => new { s.Id, s.DefinitionJson })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            var expansion = SweepExpansion.Of(row.Id, row.DefinitionJson);
            _cache.Set(row.Id, expansion, new MemoryCacheEntryOptions { Size = Math.Max(1, row.DefinitionJson.Length), SlidingExpiration = Unused });
            found[row.Id] = expansion;
        }

        return found;
    }

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();
}

/// <summary>One sweep's tasks by index, or why its stored definition cannot be expanded by this version.</summary>
public sealed class SweepExpansion
{
    private readonly Func<long, RenderTaskSpec>? _lookup;
    private readonly string? _error;

    private SweepExpansion(Func<long, RenderTaskSpec>? lookup, string? error)
    {
        _lookup = lookup;
        _error = error;
    }

    /// <summary>Parses and prepares a stored definition (never throws: a bad one gives an expansion that fails every task).</summary>
    /// <param name="sweepId">The sweep.</param>
    /// <param name="definitionJson">Its <c>definition_json</c>.</param>
    public static SweepExpansion Of(Guid sweepId, string definitionJson)
    {
        var parsed = SweepParser.ParseJson(definitionJson);
        if (parsed.Definition is not { } definition)
        {
            return Unexpandable(string.Join("; ", parsed.Errors.Select(e => e.ToString())));
        }

        try
        {
            return new SweepExpansion(SweepExpander.Lookup(sweepId, definition), null);
        }
        catch (ArgumentException e)
        {
            return Unexpandable(e.Message);
        }
    }

    /// <summary>The task's render parameters, or the reason they cannot be had (the task is then failed with it).</summary>
    /// <param name="task">A task of this sweep.</param>
    /// <param name="parameters">Its parameters, when this returns true.</param>
    /// <param name="error">Why not, when this returns false.</param>
    public bool TryGet(RenderTaskRecord task, [NotNullWhen(true)] out RenderParameters? parameters, out string error)
    {
        ArgumentNullException.ThrowIfNull(task);
        parameters = null;
        error = _error ?? "";
        if (_lookup is null)
        {
            return false;
        }

        RenderTaskSpec spec;
        try
        {
            spec = _lookup(task.TaskIndex);
        }
        catch (ArgumentOutOfRangeException)
        {
            error = $"task_index {task.TaskIndex} is outside the sweep's stored definition";
            return false;
        }

        // Task ids are the UUIDv5 of sweep and index: a row whose id differs was not made from this definition.
        if (spec.TaskId != task.Id)
        {
            error = $"task id {task.Id} is not the id of task_index {task.TaskIndex} in the sweep's stored definition ({spec.TaskId})";
            return false;
        }

        parameters = spec.Parameters;
        return true;
    }

    private static SweepExpansion Unexpandable(string reason) =>
        new(null, $"the sweep's definition_json cannot be expanded by this version: {reason}");
}
