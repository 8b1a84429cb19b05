using Seg.Parameters;

namespace Seg.Pipeline.Tests.Pipeline;

public class RenderRequestTests
{
    private static readonly RenderParameters Task = ParameterDefinitions.Defaults with { Model = "tiny", Width = 64, Height = 64, Steps = 2 };

    [Fact]
    public void A_request_for_a_tasks_parameters_holds_them_and_its_one_sigma()
    {
        var request = RenderRequest.For(Task with { SegBlurSigma = 4 });

        Assert.Equal(Task with { SegBlurSigma = 4 }, request.Parameters);
        Assert.Equal((64, 64, 2, "mid"), (request.Width, request.Height, request.Steps, request.SegLayers));
        Assert.Equal([4.0], request.SegBlurSigmas);
        request.Validate();
        request.Validate(); // the pipeline's own check passes what For checked
    }

    [Fact]
    public void A_task_that_breaks_rules_gets_no_request_and_every_rule_is_named()
    {
        var error = Assert.Throws<RenderRequestException>(() => RenderRequest.For(Task with { Steps = 0, Width = 60, SegBlurSigma = -1 }));

        Assert.Equal(
            "width must be a multiple of 8 between 64 and 4096 (got 60); steps must be between 1 and 1000 (got 0); " +
            "seg_blur_sigma must be > 0 or \"inf\" (got -1)",
            error.Message);
        Assert.Equal(("width", "must be a multiple of 8 between 64 and 4096 (got 60)"), (error.Field, error.Rule));
        Assert.Equal(3, error.Errors.Count);
    }

    [Fact]
    public void A_request_changed_after_its_check_is_checked_again()
    {
        var checkedRequest = RenderRequest.For(Task);

        Assert.Equal("steps", Assert.Throws<RenderRequestException>(() => (checkedRequest with { Steps = 0 }).Validate()).Field);
        Assert.Equal("seg_blur_sigma", Assert.Throws<RenderRequestException>(() => (checkedRequest with { SegBlurSigmas = [2, 0] }).Validate()).Field);
        Assert.Equal("seg_blur_sigma", Assert.Throws<RenderRequestException>(() => (checkedRequest with { SegBlurSigmas = [] }).Validate()).Field);
    }

    [Fact]
    public void The_defaults_are_the_definitions_and_the_pipeline_leaves_the_model_to_its_folder()
    {
        var request = new RenderRequest();

        Assert.Equal(ParameterDefinitions.Defaults, request.Parameters);
        Assert.Equal((30, 5.0, 3.0, "euler"), (request.Steps, request.GuidanceScale, request.SegScale, request.Scheduler));
        Assert.Equal([double.PositiveInfinity], request.SegBlurSigmas);
        request.Validate(); // no model: the pipeline renders with the folder it was loaded from
    }

    [Fact]
    public void Provenance_is_the_parameters_at_each_sigma_with_the_model_name()
    {
        var request = new RenderRequest { Prompt = "a cat", Seed = 9, SegBlurSigmas = [1, double.PositiveInfinity] };

        var provenance = RenderProvenance.ForRequest(request, double.PositiveInfinity, "tiny-sdxl", "1.0", "CPUExecutionProvider", "0.1.0");
        var back = RenderProvenance.FromJson(provenance.ToJson());

        Assert.Equal(request.Parameters with { Model = "tiny-sdxl" }, provenance.Parameters);
        Assert.Equal(provenance, back);
        Assert.Contains("\"seg_blur_sigma\":\"inf\"", provenance.ToJson());
    }

    [Fact]
    public void Provenance_written_before_the_definitions_still_reads()
    {
        // The seg text chunk of a PNG from an earlier version: the sigma as text, no vae.
        const string Old = """
            {"prompt":"a cat","negative_prompt":"","seed":7,"steps":4,"scheduler":"euler","guidance_scale":5,"guidance_rescale":0,
             "width":64,"height":64,"seg_scale":3,"seg_blur_sigma":"10","seg_layers":"mid","seg_window_start":0,"seg_window_stop":1,
             "seg_patch_version":"1","model":"tiny-sdxl","onnx_runtime_version":"1.23.0","execution_provider":"CPUExecutionProvider",
             "software_version":"0.1.0"}
            """;

        var provenance = RenderProvenance.FromJson(Old);

        Assert.Equal((10.0, 7L, "tiny-sdxl", null), (provenance.Parameters.SegBlurSigma, provenance.Parameters.Seed, provenance.Parameters.Model, provenance.Parameters.Vae));
        Assert.Equal(("1", "CPUExecutionProvider"), (provenance.SegPatchVersion, provenance.ExecutionProvider));
    }
}
