namespace Seg.Contracts.Messages;

/// <summary>Names of the stages a worker times for one render: the keys of the provenance timings (and of the export's timing columns).</summary>
public static class Stages
{
    /// <summary>Waiting for a free slot.</summary>
    public const string WaitForSlot = "wait_for_slot";

    /// <summary>Loading the model's sessions on the slot (0 when they were loaded already).</summary>
    public const string LoadModel = "load_model";

    /// <summary>Tokenizing and both text encoders.</summary>
    public const string EncodePrompt = "encode_prompt";

    /// <summary>The whole sampling loop.</summary>
    public const string Denoise = "denoise";

    /// <summary>Time inside the UNet (part of <see cref="Denoise"/>).</summary>
    public const string UNet = "unet";

    /// <summary>The VAE decoder.</summary>
    public const string Decode = "decode";

    /// <summary>The render call on the device: what accounting counts as GPU-seconds.</summary>
    public const string Device = "device";

    /// <summary>PNG encoding with the provenance chunks.</summary>
    public const string EncodePng = "encode_png";

    /// <summary>The upload to the blob store.</summary>
    public const string Upload = "upload";

    /// <summary>Every stage, in the order a render passes them.</summary>
    public static IReadOnlyList<string> All { get; } = [WaitForSlot, LoadModel, EncodePrompt, Denoise, UNet, Decode, Device, EncodePng, Upload];
}
