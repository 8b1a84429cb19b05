using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Seg.ServiceDefaults;

/// <summary>
/// Writes a health report as JSON, one entry per check, so that an operator (or a probe's log) sees which dependency is
/// down: <c>{"status":"Unhealthy","checks":{"database":{"status":"Healthy"},"broker":{"status":"Unhealthy","description":"..."}}}</c>.
/// Exception details stay in the logs; only the check's own description is shown.
/// </summary>
public static class HealthReportJson
{
    /// <summary>The response writer for <c>HealthCheckOptions.ResponseWriter</c>.</summary>
    /// <param name="context">The request.</param>
    /// <param name="report">The report.</param>
    /// <returns>The write.</returns>
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Status != HealthStatus.Healthy && entry.Description is { Length: > 0 } description)
            {
                json.WriteString("description", description);
            }

            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
