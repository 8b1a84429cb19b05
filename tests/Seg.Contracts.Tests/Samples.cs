using Seg.Contracts.Messages;
using Seg.Parameters;

namespace Seg.Contracts.Tests;

/// <summary>Valid values that tests vary with <c>with</c>.</summary>
internal static class Samples
{
    /// <summary>Valid parameters of one small image with the infinite blur.</summary>
    public static RenderParameters Parameters { get; } = new()
    {
        Model = "tiny",
        Prompt = "a photo of a cat",
        NegativePrompt = "",
        Seed = 1,
        Width = 128,
        Height = 128,
        Steps = 8,
        Scheduler = "euler",
        GuidanceScale = 5,
        GuidanceRescale = 0,
        SegScale = 3,
        SegBlurSigma = double.PositiveInfinity,
        SegLayers = "mid",
        SegWindowStart = 0,
        SegWindowStop = 1,
    };
}
