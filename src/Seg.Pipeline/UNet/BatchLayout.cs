using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Text;

namespace Seg.Pipeline.UNet;

/// <summary>What one item of a UNet batch predicts.</summary>
internal enum BatchItemKind
{
    Uncond,
    Cond,
    Blurred,
}

/// <summary>One item of a UNet batch: its role and the image (SEG sigma) it belongs to.</summary>
internal readonly record struct BatchItem(BatchItemKind Kind, int Image);

/// <summary>
/// The items of one UNet call and their constant inputs. Per image: [uncond if CFG], cond, [blurred if SEG
/// is active at this step]. Non-blurred items get identity blur operators, so one call serves all of them.
/// </summary>
internal sealed class BatchLayout
{
    private BatchLayout(BatchItem[] items, float[] hiddenStates, float[] textEmbeds, float[] timeIds,
        IReadOnlyList<(string Name, float[] Data, long[] Shape)> extraInputs)
    {
        Items = items;
        HiddenStates = hiddenStates;
        TextEmbeds = textEmbeds;
        TimeIds = timeIds;
        ExtraInputs = extraInputs;
    }

    public BatchItem[] Items { get; }

    public int Batch => Items.Length;

    public float[] HiddenStates { get; }

    public float[] TextEmbeds { get; }

    public float[] TimeIds { get; }

    public IReadOnlyList<(string Name, float[] Data, long[] Shape)> ExtraInputs { get; }

    public int CondIndex(int image) => Array.IndexOf(Items, new BatchItem(BatchItemKind.Cond, image));

    public int? UncondIndex(int image) => Find(BatchItemKind.Uncond, image);

    public int? BlurredIndex(int image) => Find(BatchItemKind.Blurred, image);

    private int? Find(BatchItemKind kind, int image)
    {
        var index = Array.IndexOf(Items, new BatchItem(kind, image));
        return index >= 0 ? index : null;
    }

    public static BatchLayout Create(
        RenderRequest request,
        bool segActive,
        IReadOnlyList<double> sigmas,
        EncodedPrompts prompts,
        float[] timeIds,
        SegUNet? segUNet,
        int latentHeight,
        int latentWidth)
    {
        var items = new List<BatchItem>();
        for (var v = 0; v < sigmas.Count; v++)
        {
            if (request.UsesCfg)
            {
                items.Add(new BatchItem(BatchItemKind.Uncond, v));
            }
            items.Add(new BatchItem(BatchItemKind.Cond, v));
            if (segActive)
            {
                items.Add(new BatchItem(BatchItemKind.Blurred, v));
            }
        }

        var hidden = new List<float>();
        var pooled = new List<float>();
        var times = new List<float>();
        foreach (var item in items)
        {
            var embedding = item.Kind == BatchItemKind.Uncond ? prompts.Negative : prompts.Positive;
            hidden.AddRange(embedding.Tokens);
            pooled.AddRange(embedding.Pooled);
            times.AddRange(timeIds);
        }

        var extra = new List<(string, float[], long[])>();
        if (segUNet is not null)
        {
            foreach (var op in segUNet.Operators)
            {
                var rows = SegBlurOperator.GridLength(latentHeight, op.Factor);
                var cols = SegBlurOperator.GridLength(latentWidth, op.Factor);
                extra.Add((op.RowsInput, Operators(items, sigmas, rows), [items.Count, rows, rows]));
                extra.Add((op.ColsInput, Operators(items, sigmas, cols), [items.Count, cols, cols]));
            }
        }
        return new BatchLayout([.. items], [.. hidden], [.. pooled], [.. times], extra);
    }

    /// <summary>The stacked n x n operators of a batch: the Gaussian for blurred items, identity for others.</summary>
    private static float[] Operators(List<BatchItem> items, IReadOnlyList<double> sigmas, int n)
    {
        var data = new float[items.Count * n * n];
        for (var i = 0; i < items.Count; i++)
        {
            var target = data.AsSpan(i * n * n, n * n);
            if (items[i].Kind == BatchItemKind.Blurred)
            {
                SegBlurOperator.Matrix(n, sigmas[items[i].Image]).CopyTo(target);
            }
            else
            {
                for (var d = 0; d < n; d++)
                {
                    target[d * n + d] = 1f;
                }
            }
        }
        return data;
    }
}
