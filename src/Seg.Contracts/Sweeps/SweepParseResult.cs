using System.Diagnostics.CodeAnalysis;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// The outcome of reading a sweep: the definition, or the errors. <see cref="Definition"/> is set exactly when
/// <see cref="Errors"/> is empty.
/// </summary>
public sealed record SweepParseResult
{
    private SweepParseResult(SweepDefinition? definition, IReadOnlyList<ValidationError> errors)
    {
        Definition = definition;
        Errors = errors;
    }

    /// <summary>The sweep, when it was read without error.</summary>
    public SweepDefinition? Definition { get; }

    /// <summary>Every error found, each naming its field (and where known, the line and column).</summary>
    public IReadOnlyList<ValidationError> Errors { get; }

    /// <summary>Whether the sweep was read without error.</summary>
    [MemberNotNullWhen(true, nameof(Definition))]
    public bool Succeeded => Definition is not null;

    /// <summary>A successful result.</summary>
    public static SweepParseResult Success(SweepDefinition definition) =>
        new(definition ?? throw new ArgumentNullException(nameof(definition)), []);

    /// <summary>A failed result; there must be at least one error.</summary>
    public static SweepParseResult Failure(IReadOnlyList<ValidationError> errors) =>
        errors is { Count: > 0 } ? new(null, errors) : throw new ArgumentException("a failure needs at least one error", nameof(errors));

    /// <summary>A failed result with one error.</summary>
    public static SweepParseResult Failure(string field, string rule) => Failure([new ValidationError(field, rule)]);
}
