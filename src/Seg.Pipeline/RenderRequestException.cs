using Seg.Parameters;

namespace Seg.Pipeline;

/// <summary>A render request that breaks rules; <see cref="Field"/> and <see cref="Rule"/> name the first, <see cref="Errors"/> all.</summary>
public sealed class RenderRequestException : ArgumentException
{
    /// <summary>Creates the exception for one broken rule; the message reads "<paramref name="field"/> <paramref name="rule"/>".</summary>
    public RenderRequestException(string field, string rule) : this([new ParameterError(field, rule)])
    {
    }

    /// <summary>Creates the exception for broken rules (at least one); the message lists them, separated by "; ".</summary>
    public RenderRequestException(IReadOnlyList<ParameterError> errors) : base(string.Join("; ", errors), errors[0].Field)
    {
        Errors = errors;
    }

    /// <summary>Every broken rule.</summary>
    public IReadOnlyList<ParameterError> Errors { get; }

    /// <summary>The field of the first broken rule, in the parameters' snake_case naming.</summary>
    public string Field => Errors[0].Field;

    /// <summary>The first broken rule.</summary>
    public string Rule => Errors[0].Rule;

    /// <summary>The message without ArgumentException's "(Parameter ...)" suffix.</summary>
    public override string Message => string.Join("; ", Errors);
}
