using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;
using Seg.Pipeline.TinyModel;
using Seg.Pipeline.UNet;

namespace Seg.Pipeline.Tests.Pipeline;

/// <summary>
/// The IOBinding path (constants bound once, latents in and prediction out per step) on the CPU provider gives
/// exactly what a plain session run gives, with host-bound and with device-resident step buffers.
/// </summary>
[Collection(TinyModelCollection.Name)]
public class UNetBindingTests(TinyModelFixture models)
{
    public static TheoryData<bool, TimestepForm, SegPatchMode, bool> Cases() => new()
    {
        { false, TimestepForm.FloatVector, SegPatchMode.Forked, false },
        { false, TimestepForm.FloatVector, SegPatchMode.Forked, true },
        { false, TimestepForm.FloatVector, SegPatchMode.Batched, false },
        { false, TimestepForm.Int64Vector, SegPatchMode.Forked, true },
        { false, TimestepForm.FloatScalar, SegPatchMode.Batched, true },
        { true, TimestepForm.FloatVector, SegPatchMode.Forked, false },
        { true, TimestepForm.FloatScalar, SegPatchMode.Forked, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bound_steps_equal_plain_runs(bool fp16, TimestepForm form, SegPatchMode mode, bool deviceResident)
    {
        var folder = models.Get(new TinyModelOptions(Fp16: fp16, TimestepForm: form));
        var unetPath = Path.Combine(folder, "unet", "model.onnx");
        var sessions = new OnnxSessionFactory(ExecutionProviderOptions.Cpu);
        var patched = PatchedUNetCache.GetOrCreate(unetPath, SegLayerSelection.Parse("d1,mid"), models.PatchCache, mode);
        var info = UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(patched))!;
        using var unet = new UNetSession(patched, sessions);
        using var copier = new DeviceTensorCopier(sessions);

        // SEG+CFG for two sigmas: rows (u0, c0, u1, c1) in; forked: (u0, c0, s0, u1, c1, s1) out.
        const int h = 9, w = 8;
        var forked = mode == SegPatchMode.Forked;
        var rows = forked ? 4 : 6;
        long[]? forkRows = forked ? [0, 1, 1, 2, 3, 3] : null;
        var outputs = 6;
        var random = new Random(7);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var extra = info.Inputs.SelectMany(pair => new[]
        {
            (pair.RowsInput, Operators(outputs, SegBlurOperator.GridLength(h, pair.Factor)), Shape(outputs, SegBlurOperator.GridLength(h, pair.Factor))),
            (pair.ColumnsInput, Operators(outputs, SegBlurOperator.GridLength(w, pair.Factor)), Shape(outputs, SegBlurOperator.GridLength(w, pair.Factor))),
        }).ToList();
        var constants = new UNetInputs(rows, h, w, [], 0, 77, Random(rows * 77 * unet.EncoderHiddenSize), Random(rows * unet.TextEmbedsSize),
            Enumerable.Repeat(64f, rows * 6).ToArray(), extra, forkRows);

        using var runOptions = new RunOptions();
        using var binding = unet.Bind(constants, copier, deviceResident);
        foreach (var timestep in new[] { 901.0, 421.0, 1.0 })
        {
            var sample = Random(rows * 4 * h * w);
            sample.CopyTo(binding.Sample);
            var bound = binding.Predict(timestep, runOptions);
            var plain = unet.Predict(constants with { Sample = sample, Timestep = timestep }, runOptions);
            Assert.Equal(outputs * 4 * h * w, bound.Length);
            Assert.Equal(plain, bound);
        }
    }

    [Fact]
    public void The_copier_moves_tensors_to_the_device_and_back_unchanged()
    {
        var sessions = new OnnxSessionFactory(ExecutionProviderOptions.Cpu);
        using var copier = new DeviceTensorCopier(sessions);
        float[] data = [1.5f, -2f, 3.25f, 0f, 7f, 8f];
        using var host = OrtValue.CreateTensorValueFromMemory(data, [2, 3]);
        using var device = copier.ToDevice(host);
        Assert.Equal(data, device.GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal([2L, 3L], device.GetTensorTypeAndShape().Shape);

        var back = new float[6];
        using var target = OrtValue.CreateTensorValueFromMemory(back, [2, 3]);
        copier.Copy(device, target);
        Assert.Equal(data, back);

        long[] ids = [4, 5];
        using var idsHost = OrtValue.CreateTensorValueFromMemory(ids, [2]);
        using var idsDevice = copier.ToDevice(idsHost);
        Assert.Equal(TensorElementType.Int64, idsDevice.GetTensorTypeAndShape().ElementDataType);
        Assert.Equal(ids, idsDevice.GetTensorDataAsSpan<long>().ToArray());
    }

    private static float[] Operators(int items, int n)
    {
        // Identity for uncond and cond, a Gaussian for each blurred item (every third).
        return Enumerable.Range(0, items).SelectMany(i => i % 3 == 2 ? SegBlurOperator.Matrix(n, 1.5) : SegBlurOperator.Identity(n)).ToArray();
    }

    private static long[] Shape(int batch, int n) => [batch, n, n];
}
