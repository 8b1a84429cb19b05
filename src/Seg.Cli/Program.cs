using System.CommandLine;
using Seg.Cli;

// Errors a user can act on print one line and exit 2, whether the parser or a check found them; anything else
// keeps its stack trace for a bug report.
var parse = SegCommandLine.Build().Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }
    Console.Error.WriteLine("(seg --help, or seg COMMAND --help, lists the options)");
    return UserErrors.ExitCode;
}
try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception ex) when (UserErrors.IsUserError(ex))
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return UserErrors.ExitCode;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
