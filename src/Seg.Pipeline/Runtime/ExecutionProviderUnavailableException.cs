namespace Seg.Pipeline.Runtime;

/// <summary>
/// The requested execution provider could not be loaded (for CUDA: no driver, no CUDA 13 or cuDNN
/// libraries, or a bad device id) and the caller did not allow a CPU fallback.
/// </summary>
public sealed class ExecutionProviderUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ExecutionProviderUnavailableException(string message, Exception inner) : base(message, inner)
    {
    }
}
