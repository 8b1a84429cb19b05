using Microsoft.Extensions.Options;
using Seg.Parameters;
using Seg.Pipeline.TinyModel;
using Seg.Worker.Rendering;

namespace Seg.Worker.Models;

/// <summary>
/// Turns the model (and VAE) names of tasks into folders: <c>tiny</c> is the tiny test model, written once into
/// <see cref="WorkerOptions.CacheFolder"/>; any other name is a folder under <see cref="WorkerOptions.ModelRoot"/>.
/// A name that leads outside the model root or to no folder fails the task permanently, naming the model: the reason
/// goes to the database and the API, so it never shows a resolved host path.
/// </summary>
public sealed class ModelResolver
{
    private readonly string _modelRoot;
    private readonly string _workerId;
    private readonly bool _allowAbsolute;
    private readonly Lazy<string> _tinyModel;

    /// <summary>Creates the resolver.</summary>
    /// <param name="options">Worker options.</param>
    public ModelResolver(IOptions<WorkerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _modelRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(settings.ModelRoot));
        _workerId = settings.ResolvedWorkerId;
        _allowAbsolute = settings.AllowAbsoluteModelPaths;
        var tinyRoot = Path.Combine(settings.CacheFolder, "models");
        _tinyModel = new Lazy<string>(() => TinyModelCache.GetOrCreate(tinyRoot, new TinyModelOptions()));
    }

    /// <summary>The folder of a task's model.</summary>
    /// <param name="model">The model name (or a path under the model root).</param>
    /// <returns>The full path of the model folder, which exists.</returns>
    /// <exception cref="PermanentTaskFailureException">The name leads outside the model root or to no folder.</exception>
    public string ResolveModel(string model) =>
        model.Trim() == TinyModelCache.ModelName ? _tinyModel.Value : ResolveUnderRoot("model", model);

    /// <summary>The folder of a task's separate VAE, or null when the task uses the model's own.</summary>
    /// <param name="vae">The VAE name, or null.</param>
    /// <returns>The full path, or null.</returns>
    /// <exception cref="PermanentTaskFailureException">The name leads outside the model root or to no folder.</exception>
    public string? ResolveVae(string? vae) => vae is null ? null : ResolveUnderRoot("vae", vae);

    private string ResolveUnderRoot(string field, string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new PermanentTaskFailureException($"{field} must name a model folder under the worker's model root (got an empty name)");
        }

        // The rule the API and the command line check too; the path check below also catches links out of the root.
        if (ModelNames.Check(name, _allowAbsolute) is { } rule)
        {
            throw new PermanentTaskFailureException($"{field} {rule}");
        }

        var folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(_modelRoot, name.Trim())));
        var inside = folder.StartsWith(_modelRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (!inside && !(_allowAbsolute && Path.IsPathRooted(name.Trim())))
        {
            throw new PermanentTaskFailureException($"{field} '{name}' must be a folder under the worker's model root (Worker:ModelRoot)");
        }

        if (!Directory.Exists(folder))
        {
            throw new PermanentTaskFailureException($"{field} '{name}' not found on worker {_workerId}: no such folder under Worker:ModelRoot");
        }

        return folder;
    }
}
