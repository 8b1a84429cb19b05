using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.Web;
using Seg.Pipeline;
using Seg.Storage;
using Seg.Storage.Blobs;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg serve DIR</c>: the coordinator's web pages over a standalone run's folder (<c>seg run --out DIR</c>): its
/// SQLite database opened read only and its images. No key (the pages read only, on loopback by default); no actions.
/// Thumbnails are kept in the user's cache folder, since the run's folder is not written.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Where <c>seg serve</c> listens unless told otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "A standalone run's folder (seg run --out): provenance.db and images/." };
        var urls = new Option<string>("--urls") { Description = "Where to listen.", DefaultValueFactory = _ => DefaultUrl };
        var command = new Command("serve", "Show a standalone run in a browser: the farm's sweep, grid and image pages, read only.") { folder, urls };
        command.SetAction((parse, cancellationToken) => ServeAsync(Path.GetFullPath(parse.GetValue(folder)!), parse.GetValue(urls)!, cancellationToken));
        return command;
    }

    private static async Task<int> ServeAsync(string folder, string urls, CancellationToken cancellationToken)
    {
        var database = Path.Combine(folder, StandaloneRun.DatabaseFile);
        if (!File.Exists(database))
        {
            throw new FileNotFoundException($"folder: '{folder}' holds no {StandaloneRun.DatabaseFile}; give the folder of a 'seg run --out FOLDER'", database);
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{AuthOptions.Section}:{nameof(AuthOptions.AllowAnonymous)}"] = "true",
            [$"{AuthOptions.Section}:{nameof(AuthOptions.AnonymousScopes)}:0"] = ApiScopes.Read,
            [$"{WebOptions.Section}:{nameof(WebOptions.ReadOnly)}"] = "true",
        });
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(options => options.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        // Before the storage, which keeps thumbnails beside the images unless one is registered.
        var folderKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(folder)))[..16];
        var thumbnails = Path.Combine(PipelineOptions.DefaultCacheFolder("serve-thumbnails"), folderKey);
        builder.Services.AddSingleton<IThumbnailStore>(new LocalFolderImageBlobStore(thumbnails));
        builder.Services.AddSegStorageSqlite(database, Path.Combine(folder, StandaloneRun.ImagesFolder), readOnly: true);
        builder.Services.AddCoordinatorReads(builder.Configuration);
        builder.AddCoordinatorApi();
        builder.AddCoordinatorAuth();
        builder.AddCoordinatorWeb();

        await using var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCoordinatorAuth();
        app.MapReadOnlyCoordinatorWeb();
        await app.StartAsync(cancellationToken);
        Console.Out.WriteLine($"serving {folder} (read only) at {string.Join(", ", app.Urls)}; Ctrl+C stops");
        await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(app, cancellationToken);
        return 0;
    }
}
