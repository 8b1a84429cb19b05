using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Seg.Pipeline.Models;
using Seg.Pipeline.Runtime;

namespace Seg.Pipeline.Text;

/// <summary>Prompt embeddings for the UNet: per-token states and the pooled vector.</summary>
/// <param name="Tokens">Per-token states, sequence x features (features = encoder 1 + encoder 2).</param>
/// <param name="Pooled">The pooled, projected embedding of encoder 2.</param>
public sealed record PromptEmbedding(float[] Tokens, float[] Pooled);

/// <summary>Both prompts encoded, and any warnings (truncation) for the user.</summary>
/// <param name="Positive">The prompt's embedding.</param>
/// <param name="Negative">The negative prompt's embedding (zeros for an empty one when the model says so).</param>
/// <param name="SequenceLength">Tokens per prompt (77).</param>
/// <param name="TokenFeatures">Features per token (2048 for SDXL).</param>
/// <param name="PooledFeatures">Features of the pooled embedding (1280 for SDXL).</param>
/// <param name="Warnings">Messages for the user, e.g. that a prompt was truncated.</param>
public sealed record EncodedPrompts(
    PromptEmbedding Positive,
    PromptEmbedding Negative,
    int SequenceLength,
    int TokenFeatures,
    int PooledFeatures,
    IReadOnlyList<string> Warnings);

/// <summary>
/// SDXL's prompt encoding as diffusers does it: both CLIP encoders, the penultimate hidden state of each
/// concatenated on the feature axis, the pooled embedding from encoder 2, and zeros for an empty negative
/// prompt when <c>force_zeros_for_empty_prompt</c> is set.
/// </summary>
public sealed class SdxlPromptEncoder : IDisposable
{
    private readonly EncoderSide _first;
    private readonly EncoderSide _second;
    private readonly bool _forceZerosForEmptyNegative;

    /// <summary>Loads both tokenizers and opens both encoder sessions.</summary>
    public SdxlPromptEncoder(SdxlModelFolder model, OnnxSessionFactory sessions)
    {
        _first = new EncoderSide("text_encoder", ClipTokenizer.FromFolder(model.TokenizerFolder),
            sessions.CreateSession(model.TextEncoderPath), pooledOutput: null);
        _second = new EncoderSide("text_encoder_2", ClipTokenizer.FromFolder(model.Tokenizer2Folder),
            sessions.CreateSession(model.TextEncoder2Path), pooledOutput: "text_embeds");
        _forceZerosForEmptyNegative = model.ReadForceZerosForEmptyPrompt();
    }

    /// <summary>The tokenizer of encoder 1 (pads with the end token).</summary>
    public ClipTokenizer Tokenizer1 => _first.Tokenizer;

    /// <summary>The tokenizer of encoder 2 (pads with <c>!</c>).</summary>
    public ClipTokenizer Tokenizer2 => _second.Tokenizer;

    /// <summary>Encodes a prompt and a negative prompt.</summary>
    public EncodedPrompts Encode(string prompt, string negativePrompt, bool needNegative, SessionRunClock? clock = null)
    {
        var warnings = new List<string>();
        var zeroNegative = needNegative && _forceZerosForEmptyNegative && negativePrompt.Length == 0;
        var texts = needNegative && !zeroNegative ? new[] { prompt, negativePrompt } : new[] { prompt };

        clock ??= new SessionRunClock();
        var a = _first.Encode(texts, warnings, clock);
        var b = _second.Encode(texts, warnings, clock);
        var seq = a.SequenceLength;
        if (b.SequenceLength != seq)
        {
            throw new ModelFolderException(
                $"model: the text encoders disagree on the sequence length ({seq} vs {b.SequenceLength})");
        }
        var features = a.Features + b.Features;
        var pooledFeatures = b.PooledFeatures;

        PromptEmbedding Concat(int item) => new(
            ConcatFeatures(a.Hidden, a.Features, b.Hidden, b.Features, seq, item),
            b.Pooled!.AsSpan(item * pooledFeatures, pooledFeatures).ToArray());

        var positive = Concat(0);
        var negative = texts.Length == 2
            ? Concat(1)
            : new PromptEmbedding(new float[seq * features], new float[pooledFeatures]);
        return new EncodedPrompts(positive, negative, seq, features, pooledFeatures, warnings);
    }

    private static float[] ConcatFeatures(float[] a, int fa, float[] b, int fb, int seq, int item)
    {
        var result = new float[seq * (fa + fb)];
        for (var t = 0; t < seq; t++)
        {
            a.AsSpan((item * seq + t) * fa, fa).CopyTo(result.AsSpan(t * (fa + fb), fa));
            b.AsSpan((item * seq + t) * fb, fb).CopyTo(result.AsSpan(t * (fa + fb) + fa, fb));
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }

    private sealed record EncoderOutput(float[] Hidden, int SequenceLength, int Features, float[]? Pooled, int PooledFeatures);

    /// <summary>One tokenizer + encoder pair, with the names of the outputs it reads.</summary>
    private sealed class EncoderSide : IDisposable
    {
        private readonly string _name;
        private readonly InferenceSession _session;
        private readonly string _inputName;
        private readonly TensorElementType _inputType;
        private readonly string _penultimateOutput;
        private readonly string? _pooledOutput;

        public EncoderSide(string name, ClipTokenizer tokenizer, InferenceSession session, string? pooledOutput)
        {
            _name = name;
            Tokenizer = tokenizer;
            _session = session;
            _pooledOutput = pooledOutput;

            if (!session.InputMetadata.TryGetValue("input_ids", out var input))
            {
                throw new ModelFolderException(
                    $"model: {name}/model.onnx has no 'input_ids' input (found: {string.Join(", ", session.InputMetadata.Keys)})");
            }
            _inputName = "input_ids";
            _inputType = input.ElementDataType;
            if (_inputType is not (TensorElementType.Int64 or TensorElementType.Int32))
            {
                throw new ModelFolderException($"model: {name}/model.onnx input_ids must be int64 or int32 (got {_inputType})");
            }

            // Exports name the per-layer states hidden_states.0 (embeddings) .. hidden_states.L; SDXL uses L-1.
            var layers = session.OutputMetadata.Keys
                .Where(k => k.StartsWith("hidden_states.", StringComparison.Ordinal))
                .Select(k => int.TryParse(k.AsSpan("hidden_states.".Length), out var i) ? i : -1)
                .Where(i => i >= 0)
                .DefaultIfEmpty(-1)
                .Max();
            if (layers < 1)
            {
                throw new ModelFolderException(
                    $"model: {name}/model.onnx has no hidden_states.N outputs; export it with output_hidden_states " +
                    $"(found: {string.Join(", ", session.OutputMetadata.Keys)})");
            }
            _penultimateOutput = $"hidden_states.{layers - 1}";
            if (pooledOutput is not null && !session.OutputMetadata.ContainsKey(pooledOutput))
            {
                throw new ModelFolderException(
                    $"model: {name}/model.onnx has no '{pooledOutput}' output (found: {string.Join(", ", session.OutputMetadata.Keys)})");
            }
        }

        public ClipTokenizer Tokenizer { get; }

        public EncoderOutput Encode(string[] texts, List<string> warnings, SessionRunClock clock)
        {
            const int sequence = 77;
            var ids = new long[texts.Length * sequence];
            for (var i = 0; i < texts.Length; i++)
            {
                var tokens = Tokenizer.Encode(texts[i], sequence);
                if (tokens.Truncated)
                {
                    var message = $"{(i == 0 ? "prompt" : "negative_prompt")} has {tokens.PromptTokenCount} tokens; " +
                                  $"{_name} keeps the first {sequence - 2}, the rest is ignored";
                    if (!warnings.Contains(message))
                    {
                        warnings.Add(message);
                    }
                }
                for (var t = 0; t < sequence; t++)
                {
                    ids[i * sequence + t] = tokens.Ids[t];
                }
            }

            var shape = new long[] { texts.Length, sequence };
            using var input = _inputType == TensorElementType.Int64
                ? OrtValue.CreateTensorValueFromMemory(ids, shape)
                : OrtValue.CreateTensorValueFromMemory(ids.Select(x => (int)x).ToArray(), shape);
            var outputNames = _pooledOutput is null
                ? new[] { _penultimateOutput }
                : new[] { _penultimateOutput, _pooledOutput };
            using var runOptions = new RunOptions();
            using var outputs = clock.Measure(() => _session.Run(runOptions, new[] { _inputName }, new[] { input }, outputNames));
            var hiddenShape = OnnxTensors.Shape(outputs[0]);
            var hidden = OnnxTensors.ToFloats(outputs[0]);
            float[]? pooled = null;
            var pooledFeatures = 0;
            if (_pooledOutput is not null)
            {
                pooled = OnnxTensors.ToFloats(outputs[1]);
                pooledFeatures = (int)OnnxTensors.Shape(outputs[1])[^1];
            }
            return new EncoderOutput(hidden, (int)hiddenShape[1], (int)hiddenShape[2], pooled, pooledFeatures);
        }

        public void Dispose() => _session.Dispose();
    }
}
