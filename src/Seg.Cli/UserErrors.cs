using Seg.Pipeline;
using Seg.Pipeline.Models;
using Seg.Pipeline.Runtime;

namespace Seg.Cli;

/// <summary>Exceptions that describe a problem with the user's input or machine, not a bug.</summary>
internal static class UserErrors
{
    /// <summary>The exit code of every error the user can act on: bad arguments, bad input, a missing file.</summary>
    public const int ExitCode = 2;

    public static bool IsUserError(Exception ex) => ex is RenderRequestException or ModelFolderException or Farm.SweepRejectedException or Farm.FarmAccessException
        or Export.ExportException or ExecutionProviderUnavailableException or ArgumentException or FileNotFoundException or DirectoryNotFoundException;
}
