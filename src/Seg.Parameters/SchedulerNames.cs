namespace Seg.Parameters;

/// <summary>The scheduler names a render may use; the pipeline provides each of them.</summary>
public static class SchedulerNames
{
    /// <summary>Euler discrete, SDXL's default.</summary>
    public const string Euler = "euler";

    /// <summary>Euler ancestral.</summary>
    public const string EulerAncestral = "euler_a";

    /// <summary>DDIM.</summary>
    public const string Ddim = "ddim";

    /// <summary>DPM-Solver++ (2M).</summary>
    public const string DpmSolverMultistep = "dpmpp_2m";

    /// <summary>DPM-Solver++ (2M) with Karras sigmas.</summary>
    public const string DpmSolverMultistepKarras = "dpmpp_2m_karras";

    /// <summary>Every accepted name, in the order error messages and help texts list them.</summary>
    public static IReadOnlyList<string> All { get; } = [Euler, EulerAncestral, Ddim, DpmSolverMultistep, DpmSolverMultistepKarras];
}
