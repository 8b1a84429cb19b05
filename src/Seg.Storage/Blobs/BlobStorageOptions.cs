using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Seg.Storage.Blobs;

/// <summary>
/// Where rendered images go. Bound from the <c>BlobStorage</c> configuration section; the connection
/// string falls back to <c>ConnectionStrings:Blobs</c>.
/// </summary>
public sealed partial record BlobStorageOptions
{
    /// <summary>Configuration section the options are bound from.</summary>
    public const string SectionName = "BlobStorage";

    /// <summary>Azure Storage connection string (<c>UseDevelopmentStorage=true</c> for Azurite).</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Blob container; created when missing. Lower-case letters, digits and single hyphens, 3 to 63 characters.</summary>
    public string ContainerName { get; init; } = "seg-images";

    /// <summary>When set, images are written to this folder instead of blob storage (standalone mode).</summary>
    public string? LocalFolder { get; init; }

    /// <summary>How images are named: <see cref="ImageBlobNaming.TaskId"/> (the default) or <see cref="ImageBlobNaming.Readable"/> (standalone).</summary>
    public ImageBlobNaming Naming { get; init; } = ImageBlobNaming.TaskId;

    /// <summary>Reads the options from <paramref name="configuration"/>.</summary>
    /// <param name="configuration">Application configuration.</param>
    /// <returns>The options (not yet validated).</returns>
    public static BlobStorageOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(SectionName).Get<BlobStorageOptions>() ?? new BlobStorageOptions();
        return string.IsNullOrWhiteSpace(options.ConnectionString)
            ? options with { ConnectionString = configuration.GetConnectionString("Blobs") }
            : options;
    }

    /// <summary>Checks the container name against Azure's rules.</summary>
    /// <exception cref="ArgumentException">The name breaks a rule; the message says which.</exception>
    public void ValidateContainerName()
    {
        if (ContainerName is null || !ContainerNamePattern().IsMatch(ContainerName))
        {
            throw new ArgumentException(
                $"BlobStorage:ContainerName must be 3-63 lower-case letters, digits or single hyphens, starting and ending with a letter or digit (got '{ContainerName}')");
        }
    }

    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex ContainerNamePattern();
}
