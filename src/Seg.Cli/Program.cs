using System.CommandLine;
using Seg.Cli;

// Errors a user can act on print one line; anything else keeps its stack trace for a bug report.
try
{
    return await SegCommandLine.Build().Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception ex) when (UserErrors.IsUserError(ex))
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
