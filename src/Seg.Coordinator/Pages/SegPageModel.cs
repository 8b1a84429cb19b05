using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Sweeps;
using Seg.Coordinator.Web;

namespace Seg.Coordinator.Pages;

/// <summary>What every page shares: whether the caller may act on sweeps, and the sweep actions' form handler.</summary>
public abstract class SegPageModel : PageModel
{
    /// <summary>The actions a page offers, as the API names them.</summary>
    public static IReadOnlyList<string> SweepActions { get; } = ["pause", "resume", "cancel", "requeue-failed"];

    /// <summary>A message for the person after an action (set by <see cref="OnPostActionAsync"/>).</summary>
    [TempData]
    public string? Notice { get; set; }

    /// <summary>Whether the caller's key may pause, resume, cancel and requeue (and the pages are not read-only).</summary>
    public bool CanOperate =>
        !HttpContext.RequestServices.GetRequiredService<IOptions<WebOptions>>().Value.ReadOnly
        && (User.HasClaim(ApiScopes.ClaimType, ApiScopes.Operate) || User.HasClaim(ApiScopes.ClaimType, ApiScopes.Admin));

    /// <summary>
    /// Runs a sweep action from a form (anti-forgery checked by Razor Pages), then shows the page again with what happened.
    /// A key without <c>operate</c> gets 403 whatever the form says.
    /// </summary>
    /// <param name="id">The sweep.</param>
    /// <param name="command">One of <see cref="SweepActions"/> (not <c>action</c>: a route value MVC keeps for itself).</param>
    /// <param name="cancellationToken">Cancels the action.</param>
    public async Task<IActionResult> OnPostActionAsync(Guid id, string? command, CancellationToken cancellationToken)
    {
        var action = command ?? "";
        if (!CanOperate)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        var commands = HttpContext.RequestServices.GetRequiredService<SweepCommands>();
        Func<Guid, CancellationToken, Task<SweepCommandResult>>? run = action switch
        {
            "pause" => commands.PauseAsync,
            "resume" => commands.ResumeAsync,
            "cancel" => commands.CancelAsync,
            "requeue-failed" => commands.RequeueFailedAsync,
            _ => null,
        };
        if (run is null)
        {
            return BadRequest($"action must be one of {string.Join(", ", SweepActions)} (got '{action}')");
        }

        var result = await run(id, cancellationToken).ConfigureAwait(false);
        Notice = result.Outcome switch
        {
            SweepCommandOutcome.Done => string.Create(CultureInfo.InvariantCulture, $"{action}: done ({result.TasksAffected} tasks affected)"),
            SweepCommandOutcome.NotFound => $"{action}: no sweep has id {id}",
            _ => $"{action}: refused: {result.Reason}",
        };
        return Redirect(Request.PathBase + Request.Path);
    }

    /// <summary>A duration as people read it (<c>4 min 10 s</c>).</summary>
    public static string Duration(double? seconds) => seconds switch
    {
        null => "–",
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds:0} s"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(seconds.Value / 60):0} min {seconds % 60:0} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(seconds.Value / 3600):0} h {Math.Floor(seconds.Value % 3600 / 60):0} min"),
    };

    /// <summary>A time in UTC, to the second.</summary>
    public static string Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) ?? "–";

    /// <summary>A progress fraction as a whole percent.</summary>
    public static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(fraction * 100):0} %");
}
