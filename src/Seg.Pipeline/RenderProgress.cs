namespace Seg.Pipeline;

/// <summary>Progress of a render: called after each denoising step.</summary>
/// <param name="Step">Steps done (1-based).</param>
/// <param name="TotalSteps">Steps in all.</param>
/// <param name="Timestep">The timestep just run.</param>
public sealed record RenderProgress(int Step, int TotalSteps, double Timestep);
