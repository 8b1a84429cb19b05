namespace Seg.Pipeline.TinyModel;

/// <summary>The three forms of the UNet <c>timestep</c> input that real SDXL ONNX exports use.</summary>
public enum TimestepForm
{
    /// <summary>A float vector of shape [batch] (float16 in the fp16 variant).</summary>
    FloatVector,

    /// <summary>An int64 vector of shape [batch] (int64 in both variants).</summary>
    Int64Vector,

    /// <summary>A float scalar of shape [] (float16 in the fp16 variant), broadcast over the batch.</summary>
    FloatScalar,
}

/// <summary>Options for <see cref="TinySdxlModelWriter"/>.</summary>
/// <param name="Fp16">Store every initializer as float16 and make every float graph input and output float16.</param>
/// <param name="TimestepForm">The dtype and rank of the UNet <c>timestep</c> input.</param>
/// <param name="ExternalUNetData">Store every UNet initializer in <c>unet/model.onnx_data</c> as ONNX external data.</param>
/// <param name="Seed">Seed of the weights; the same seed gives the same bytes on every run.</param>
/// <param name="Profile">The architecture: the tiny test model, or SDXL base's sizes for benchmarks (whose UNet
/// weights are always external data, written as they are drawn).</param>
public sealed record TinyModelOptions(
    bool Fp16 = false,
    TimestepForm TimestepForm = TimestepForm.FloatVector,
    bool ExternalUNetData = false,
    int Seed = 1234,
    ModelProfile Profile = ModelProfile.Tiny);
