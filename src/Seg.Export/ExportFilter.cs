using Seg.Parameters;
using Seg.Storage.Entities;

namespace Seg.Export;

/// <summary>
/// Which images an export takes: tasks of the given statuses (every status when empty) whose parameters equal the
/// given values (<c>--where seg_scale=3</c>; the value as people write it, <c>inf</c> for the infinite blur).
/// </summary>
/// <param name="Statuses">The task statuses taken; empty takes every image.</param>
/// <param name="Where">Parameter and value pairs a row must match, all of them.</param>
public sealed record ExportFilter(IReadOnlyList<RenderTaskStatus> Statuses, IReadOnlyList<(ParameterDefinition Parameter, object? Value)> Where)
{
    /// <summary>Every image.</summary>
    public static ExportFilter None { get; } = new([], []);

    /// <summary>Reads the filters as users write them; several statuses may share one value, comma-separated.</summary>
    /// <param name="statuses">Status names (<c>succeeded</c>, ...).</param>
    /// <param name="where">Conditions <c>PARAMETER=VALUE</c>.</param>
    /// <param name="statusField">The field of the statuses, for errors (<c>--status</c>, <c>status</c>).</param>
    /// <param name="whereField">The field of the conditions, for errors.</param>
    /// <exception cref="ExportException">A status or a parameter is unknown, or a value is not of the parameter's type.</exception>
    public static ExportFilter Parse(IEnumerable<string>? statuses, IEnumerable<string>? where, string statusField = "--status", string whereField = "--where")
    {
        var taken = new List<RenderTaskStatus>();
        foreach (var name in (statuses ?? []).SelectMany(s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!Enum.TryParse<RenderTaskStatus>(name, ignoreCase: true, out var status) || !Enum.IsDefined(status) || name.Any(char.IsDigit))
            {
                throw new ExportException($"{statusField}: unknown status '{name}'; use {string.Join(", ", Enum.GetNames<RenderTaskStatus>().Select(n => n.ToLowerInvariant()))}");
            }
            taken.Add(status);
        }

        var conditions = new List<(ParameterDefinition, object?)>();
        foreach (var condition in where ?? [])
        {
            var equals = condition.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ExportException($"{whereField}: must be PARAMETER=VALUE, such as seg_scale=3 (got '{condition}')");
            }
            var name = condition[..equals].Trim();
            var parameter = ParameterDefinitions.Find(name)
                ?? throw new ExportException($"{whereField}: unknown parameter '{name}'; use one of {string.Join(", ", ParameterDefinitions.All.Select(p => p.Name))}");
            if (!parameter.TryParseValue(condition[(equals + 1)..], out var value, out var error))
            {
                throw new ExportException($"{whereField}: {name} {error}");
            }
            conditions.Add((parameter, value));
        }
        return new ExportFilter(taken.Distinct().ToList(), conditions);
    }

    /// <summary>Whether a row's values (in <see cref="ExportColumns.All"/> order) keep every condition of <see cref="Where"/>.</summary>
    public bool Matches(object?[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (parameter, value) in Where)
        {
            if (!Equals(values[ExportColumns.IndexOf(parameter.Name)], value))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The filter as query parameters of the farm's export endpoint (<c>status=...&amp;where=...</c>).</summary>
    public IEnumerable<KeyValuePair<string, string>> ToQuery() =>
        Statuses.Select(s => KeyValuePair.Create("status", s.ToString().ToLowerInvariant()))
            .Concat(Where.Select(w => KeyValuePair.Create("where", $"{w.Parameter.Name}={w.Parameter.FormatValue(w.Value)}")));
}
