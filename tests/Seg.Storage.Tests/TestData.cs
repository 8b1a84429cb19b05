using System.Globalization;
using System.Text.Json;
using Seg.Parameters;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Storage.Tests;

/// <summary>Rows for tests.</summary>
public static class TestData
{
    /// <summary>The definition fingerprint <see cref="NewSweep"/> stores.</summary>
    public const string DefinitionSha256 = "5e6f6d1c2b3a49587766554433221100ffeeddccbbaa99887766554433221100";

    public static Sweep NewSweep(int priority = 0, string? idempotencyKey = null, int maxAttempts = 3) => new()
    {
        Id = Guid.NewGuid(),
        Name = "test sweep",
        IdempotencyKey = idempotencyKey,
        DefinitionJson = """{"model":"tiny-sdxl","prompts":["a photo of a cat"],"seeds":{"from":0,"count":10}}""",
        DefinitionSha256 = DefinitionSha256,
        SubmittedBy = "storage-tests",
        TagsJson = """{"owner":"tests"}""",
        Priority = priority,
        MaxAttempts = maxAttempts,
    };

    public static IEnumerable<NewRenderTask> NewTasks(int count, int firstIndex = 0)
    {
        for (var i = firstIndex; i < firstIndex + count; i++)
        {
            yield return new NewRenderTask(Guid.NewGuid(), i, "tiny-sdxl");
        }
    }

    public static ImageRecord NewImage(Guid sweepId, Guid taskId, double sigma = double.PositiveInfinity) => new()
    {
        TaskId = taskId,
        SweepId = sweepId,
        ParametersJson = """{"prompt":"a photo of a cat","seed":7,"seg_blur_sigma":"inf"}""",
        Parameters = ParameterDefinitions.Defaults with { Model = "tiny-sdxl", Prompt = "a photo of a cat", Seed = 7, Steps = 25, SegBlurSigma = sigma },
        ModelFileHashesJson = """{"unet/model.onnx":"00ff"}""",
        PatchVersion = "1",
        SoftwareVersion = "0.1.0",
        WorkerId = "worker-a",
        WorkerHost = "host-a",
        Device = "cpu",
        OnnxRuntimeVersion = "1.31.0",
        ExecutionProvider = "CPUExecutionProvider",
        TimingsJson = """{"text_encode":0.1,"unet":2.5,"vae":0.4}""",
        ImageSha256 = string.Concat(Enumerable.Repeat("ab", 32)),
        BlobName = "images/00/11/" + taskId.ToString("D", CultureInfo.InvariantCulture) + ".png",
        BlobUri = "http://127.0.0.1:10000/devstoreaccount1/seg-images/x.png",
        ImageWidth = 1024,
        ImageHeight = 1024,
        ImageBytes = 1234,
    };
}
