namespace Seg.Pipeline.Text;

/// <summary>A prompt as a text encoder takes it: a fixed-length id sequence, as CLIP / SDXL build it.</summary>
/// <param name="Ids">
/// <c>&lt;|startoftext|&gt;</c>, the first (length - 2) BPE ids of the prompt, <c>&lt;|endoftext|&gt;</c>, then the
/// tokenizer's pad id up to the requested length (77 for SDXL).
/// </param>
/// <param name="Truncated">True when the prompt had more BPE ids than fit and the tail was dropped.</param>
/// <param name="PromptTokenCount">The number of BPE ids of the whole prompt, before truncation, without BOS/EOS.</param>
public sealed record TokenizedPrompt(int[] Ids, bool Truncated, int PromptTokenCount);
