using Seg.Coordinator.Sweeps;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Pages;

/// <summary>The sweeps, newest first: filters by status, name and tag, paging, progress, and actions for keys with <c>operate</c>.</summary>
/// <param name="queries">The API's sweep queries.</param>
public sealed class IndexModel(SweepQueries queries) : SegPageModel
{
    /// <summary>Sweeps per page.</summary>
    public const int PageSize = 25;

    /// <summary>The page shown.</summary>
    public SweepPage Sweeps { get; private set; } = new([], 1, PageSize, 0);

    /// <summary>The status filter ("" for all).</summary>
    public string Status { get; private set; } = "";

    /// <summary>The name filter.</summary>
    public string Name { get; private set; } = "";

    /// <summary>The tag filter (<c>key</c> or <c>key=value</c>).</summary>
    public string Tag { get; private set; } = "";

    /// <summary>The page number.</summary>
    public int PageNumber { get; private set; } = 1;

    /// <summary>Loads the page of sweeps.</summary>
    public async Task OnGetAsync(string? status, string? name, string? tag, int? p, CancellationToken cancellationToken)
    {
        Status = Enum.TryParse<SweepStatus>(status, ignoreCase: true, out var wanted) ? wanted.ToString().ToLowerInvariant() : "";
        Name = name ?? "";
        Tag = tag ?? "";
        PageNumber = Math.Clamp(p ?? 1, 1, Apis.ApiProblems.MaxPage);
        var filter = new SweepFilter(Status.Length == 0 ? null : wanted, Name, Tag);
        Sweeps = await queries.ListFilteredAsync(filter, PageNumber, PageSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The query string of another page with the same filters.</summary>
    public string PageLink(int page) =>
        $"?status={Uri.EscapeDataString(Status)}&name={Uri.EscapeDataString(Name)}&tag={Uri.EscapeDataString(Tag)}&p={page}";
}
