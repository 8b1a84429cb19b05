namespace Seg.Worker.Rendering;

/// <summary>
/// A task that cannot succeed on any worker however often it is tried (a missing model, invalid parameters, a SEG
/// layer the model does not have): the task fails at once with <see cref="Exception.Message"/> as its reason.
/// </summary>
public sealed class PermanentTaskFailureException : Exception
{
    /// <summary>Creates the exception; <paramref name="reason"/> names the field and the rule.</summary>
    /// <param name="reason">Why the task cannot succeed, for people.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public PermanentTaskFailureException(string reason, Exception? inner = null)
        : base(reason, inner)
    {
    }
}
