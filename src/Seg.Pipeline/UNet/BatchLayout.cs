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
/// With a forked patch the call takes only the unblurred items (<see cref="InputItems"/>) and the graph copies
/// each image's cond row for its blurred item (<see cref="ForkRows"/>); the prediction has one row per item of
/// <see cref="Items"/> either way.
/// </summary>
internal sealed class BatchLayout
{
    private BatchLayout(BatchItem[] items, BatchItem[] inputItems, long[]? forkRows, float[] hiddenStates, float[] textEmbeds,
        float[] timeIds, IReadOnlyList<(string Name, float[] Data, long[] Shape)> extraInputs)
    {
        Items = items;
        InputItems = inputItems;
        ForkRows = forkRows;
        HiddenStates = hiddenStates;
        TextEmbeds = textEmbeds;
        TimeIds = timeIds;
        ExtraInputs = extraInputs;
    }

    /// <summary>The rows of the prediction.</summary>
    public BatchItem[] Items { get; }

    /// <summary>The rows the UNet is called with: every item, or the unblurred ones for a forked patch.</summary>
    public BatchItem[] InputItems { get; }

    /// <summary>For a forked patch: the row of <see cref="InputItems"/> that each item of <see cref="Items"/> copies.</summary>
    public long[]? ForkRows { get; }

    /// <summary>Rows in the UNet call.</summary>
    public int Batch => InputItems.Length;

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

        var forked = segUNet?.Mode == SegPatchMode.Forked;
        var inputItems = forked ? items.Where(i => i.Kind != BatchItemKind.Blurred).ToList() : items;
        // A blurred item equals its image's cond item until the first blurred layer: it forks from that row.
        long[]? forkRows = forked
            ? items.Select(i => (long)inputItems.IndexOf(i.Kind == BatchItemKind.Blurred ? i with { Kind = BatchItemKind.Cond } : i)).ToArray()
            : null;

        var hidden = new List<float>();
        var pooled = new List<float>();
        var times = new List<float>();
        foreach (var item in inputItems)
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
        return new BatchLayout([.. items], [.. inputItems], forkRows, [.. hidden], [.. pooled], [.. times], extra);
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
