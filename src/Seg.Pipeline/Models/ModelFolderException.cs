namespace Seg.Pipeline.Models;

/// <summary>
/// A model folder that cannot be used: a missing folder or file, or a graph whose inputs or outputs do not
/// match the SDXL interface. The message names the file and what was expected, so a user can act on it.
/// </summary>
public sealed class ModelFolderException : Exception
{
    /// <summary>Creates the exception with a message that names the offending file and the rule.</summary>
    public ModelFolderException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ModelFolderException(string message, Exception inner) : base(message, inner)
    {
    }
}
