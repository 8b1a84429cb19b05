using System.Diagnostics;
using Seg.Contracts.Sweeps;
using Seg.Parameters;

namespace Seg.Contracts.Tests;

public class SweepValidatorTests
{
    private static readonly SweepLimits SmallLimits = new()
    {
        MaxPrompts = 3,
        MaxPromptLength = 10,
        MaxNameLength = 8,
        MaxTasksPerSweep = 1000,
        MaxTags = 2,
        MaxTagKeyLength = 20,
        MaxTagValueLength = 5,
    };

    /// <summary>A valid sweep in which one field is replaced by <paramref name="field"/>: <paramref name="value"/>.</summary>
    private static IReadOnlyList<ValidationError> ValidateWith(string field, string value)
    {
        var fields = new Dictionary<string, string>
        {
            ["model"] = "tiny",
            ["prompts"] = "[a cat]",
            ["seeds"] = "[1]",
            [field] = value,
        };
        var result = SweepParser.ParseYaml(string.Concat(fields.Select(pair => $"{pair.Key}: {pair.Value}\n")));
        Assert.Empty(result.Errors);
        return SweepValidator.Validate(result.Definition!, SmallLimits);
    }

    [Fact]
    public void A_valid_sweep_has_no_errors()
    {
        Assert.Empty(ValidateWith("name", "ok"));
    }

    [Fact]
    public void Absolute_model_paths_pass_only_when_the_limits_allow_them_and_never_with_dot_dot()
    {
        var sweep = SweepParser.ParseYaml("model: /models/sdxl\nvae: /models/vae\nprompts: [a]\nseeds: [1]\n").Definition!;
        Assert.Equal(2, SweepValidator.Validate(sweep).Count);
        Assert.Empty(SweepValidator.Validate(sweep, new SweepLimits { AllowAbsoluteModelPaths = true }));
        Assert.Single(SweepValidator.Validate(sweep with { Model = "/models/../etc" }, new SweepLimits { AllowAbsoluteModelPaths = true }));
        // The task's own check (the worker's and the CLI's) refuses '..' whatever the option.
        Assert.Contains(ParameterDefinitions.Defaults with { Model = "a/../../b" } is var p ? p.Validate() : [], e => e.Field == "model");
    }

    [Theory]
    [InlineData("name", "a long name", "name", "must be at most 8 characters (got 11)")]
    [InlineData("model", "''", "model", "is required: a model folder or a model name that the workers know")]
    [InlineData("vae", "' '", "vae", "must not be empty; leave it out to decode with the model's own VAE")]
    [InlineData("prompts", "[]", "prompts", "must contain at least one prompt")]
    [InlineData("prompts", "[a, b, c, d]", "prompts", "must contain at most 3 prompts (got 4)")]
    [InlineData("prompts", "[a, a cat on a mat]", "prompts[1]", "must be at most 10 characters (got 14)")]
    [InlineData("prompts", "[a, b, a]", "prompts[2]", "must differ from prompts[0] (both are 'a')")]
    [InlineData("negative_prompt", "blurry and dark", "negative_prompt", "must be at most 10 characters (got 15)")]
    [InlineData("seeds", "[]", "seeds", "must contain at least one seed: a list [1, 2, 3] or a range {start: 100, count: 1000}")]
    [InlineData("seeds", "[1, -1]", "seeds[1]", "must be a whole number between 0 and 9223372036854775807 (2^63-1) (got -1)")]
    [InlineData("seeds", "[7, 8, 7]", "seeds[2]", "must differ from seeds[0] (both are 7)")]
    [InlineData("seeds", "{start: -5, count: 2}", "seeds.start", "must be a whole number between 0 and 9223372036854775807 (2^63-1) (got -5)")]
    [InlineData("seeds", "{start: 0, count: 0}", "seeds.count", "must be > 0 (got 0)")]
    [InlineData("seeds", "{start: 9223372036854775807, count: 2}", "seeds.count",
        "must keep the last seed, start + count - 1, at most 2^63-1 (got start 9223372036854775807, count 2)")]
    [InlineData("size", "[1000x1001]", "size[0]", "height must be a multiple of 8 between 64 and 4096 (got 1001)")]
    [InlineData("size", "[32x32]", "size[0]", "width must be a multiple of 8 between 64 and 4096 (got 32)")]
    [InlineData("size", "[1024x8192]", "size[0]", "height must be a multiple of 8 between 64 and 4096 (got 8192)")]
    [InlineData("size", "[1024]", "size[0]", "must be WIDTHxHEIGHT such as 1024x1024 (got '1024')")]
    [InlineData("size", "[512x512, 512x512]", "size[1]", "must differ from size[0] (both are '512x512')")]
    [InlineData("steps", "[0]", "steps[0]", "must be between 1 and 1000 (got 0)")]
    [InlineData("steps", "[30, 1001]", "steps[1]", "must be between 1 and 1000 (got 1001)")]
    [InlineData("scheduler", "[euler, heun]", "scheduler[1]", "must be one of euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras (got 'heun')")]
    [InlineData("guidance_scale", "[-0.5]", "guidance_scale[0]", "must be >= 0 (got -0.5)")]
    [InlineData("guidance_rescale", "1.5", "guidance_rescale", "must be between 0 and 1 (got 1.5)")]
    [InlineData("seg_layers", "[x]", "seg_layers[0]", "unknown group 'x'; use down, mid, up, all or d<i>, m<i>, u<i>")]
    [InlineData("seg_layers", "[mid, 'd0,q1']", "seg_layers[1]", "unknown group 'q1'; use down, mid, up, all or d<i>, m<i>, u<i>")]
    [InlineData("seg_layers", "[',']", "seg_layers[0]", "must name at least one layer group or index, such as mid or d0,m0")]
    [InlineData("seg_blur_sigma", "[1, -1]", "seg_blur_sigma[1]", "must be > 0 or \"inf\" (got -1)")]
    [InlineData("seg_blur_sigma", "[0]", "seg_blur_sigma[0]", "must be > 0 or \"inf\" (got 0)")]
    [InlineData("seg_blur_sigma", "[inf, 2, .inf]", "seg_blur_sigma[2]", "must differ from seg_blur_sigma[0] (both are inf)")]
    [InlineData("seg_scale", "[-1]", "seg_scale[0]", "must be >= 0 (got -1)")]
    [InlineData("seg_scale", "[3, 3.0]", "seg_scale[1]", "must differ from seg_scale[0] (both are 3)")]
    [InlineData("seg_window", "[0.5, 0.5]", "seg_window", "must be [start, stop] with 0 <= start < stop <= 1 (got [0.5, 0.5])")]
    [InlineData("seg_window", "[-0.1, 1]", "seg_window", "must be [start, stop] with 0 <= start < stop <= 1 (got [-0.1, 1])")]
    [InlineData("seg_window", "[0, 1.5]", "seg_window", "must be [start, stop] with 0 <= start < stop <= 1 (got [0, 1.5])")]
    [InlineData("model", "../../etc/passwd", "model",
        "must name a folder under the model root: no '..' segment and no absolute path (got '../../etc/passwd', which has a '..' segment)")]
    [InlineData("model", "'sdxl\\..\\x'", "model",
        "must name a folder under the model root: no '..' segment and no absolute path (got 'sdxl\\..\\x', which has a '..' segment)")]
    [InlineData("model", "/etc", "model",
        "must name a folder under the model root: no '..' segment and no absolute path (got '/etc', an absolute path; AllowAbsoluteModelPaths is off)")]
    [InlineData("model", "'C:\\models'", "model",
        "must name a folder under the model root: no '..' segment and no absolute path (got 'C:\\models', an absolute path; AllowAbsoluteModelPaths is off)")]
    [InlineData("vae", "'~/vae'", "vae",
        "must name a folder under the model root: no '..' segment and no absolute path (got '~/vae', an absolute path; AllowAbsoluteModelPaths is off)")]
    [InlineData("vae", "vaes/../../x", "vae",
        "must name a folder under the model root: no '..' segment and no absolute path (got 'vaes/../../x', which has a '..' segment)")]
    [InlineData("tags", "{a: 1, b: 2, c: 3}", "tags", "must have at most 2 tags (got 3)")]
    [InlineData("tags", "{owner: toolong}", "tags.owner", "must be at most 5 characters (got 7)")]
    [InlineData("tags", "{abcdefghijklmnopqrstuvwxyz: x}", "tags", "must have tag names of at most 20 characters (got 26 in 'abcdefghijklmnop...')")]
    [InlineData("tags", "{' ': x}", "tags", "must have tag names that are not blank")]
    public void Each_rule_names_its_field_and_rule(string field, string value, string errorField, string rule)
    {
        Assert.Equal(new ValidationError(errorField, rule), Assert.Single(ValidateWith(field, value)));
    }

    [Theory]
    [InlineData("[down, mid, up]")]
    [InlineData("['d0,m0', 'u35', ' d4 , m9 ']")]
    [InlineData("'mid,u0'")]
    [InlineData("[all, 'MID,D0']")]
    public void Layer_groups_and_indices_are_accepted(string layers)
    {
        Assert.Empty(ValidateWith("seg_layers", layers));
    }

    [Fact]
    public void All_errors_are_reported_at_once()
    {
        var definition = new SweepDefinition
        {
            Prompts = [],
            Seeds = SeedSet.Range(0, 0),
            Steps = [0],
            SegBlurSigma = [-1],
            Scheduler = ["heun"],
        };

        var fields = SweepValidator.Validate(definition).Select(error => error.Field);

        Assert.Equal(["model", "prompts", "seeds.count", "steps[0]", "scheduler[0]", "seg_blur_sigma[0]"], fields);
    }

    [Fact]
    public void Too_many_tasks_is_reported_without_expanding_the_sweep()
    {
        var definition = new SweepDefinition
        {
            Model = "tiny",
            Prompts = ["a", "b", "c"],
            Seeds = SeedSet.Range(0, 1_000_000_000_000),
            SegScale = [1, 2],
        };
        var clock = Stopwatch.StartNew();

        var error = Assert.Single(SweepValidator.Validate(definition));

        // Counting, not enumerating: a trillion seeds would take hours; the bound is loose so a busy machine passes.
        Assert.True(clock.ElapsedMilliseconds < 10_000, $"took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(new ValidationError("sweep",
            "must expand to at most 1,000,000 tasks (got 6,000,000,000,000 = 3 prompts x 1,000,000,000,000 seeds x 2 seg_scale)"), error);
    }

    [Fact]
    public void A_task_count_beyond_64_bits_is_reported_not_overflowed()
    {
        var definition = new SweepDefinition { Model = "tiny", Prompts = ["a", "b"], Seeds = SeedSet.Range(0, long.MaxValue) };

        var error = Assert.Single(SweepValidator.Validate(definition));

        Assert.Equal("sweep", error.Field);
        Assert.StartsWith("must expand to at most 1,000,000 tasks (got more than 2^63-1 = 2 prompts x ", error.Rule);
    }

    [Fact]
    public void The_task_limit_is_inclusive_and_configurable()
    {
        var definition = new SweepDefinition { Model = "tiny", Prompts = ["a", "b"], Seeds = SeedSet.Range(0, 5) };

        Assert.Empty(SweepValidator.Validate(definition, new SweepLimits { MaxTasksPerSweep = 10 }));
        Assert.Equal("sweep", Assert.Single(SweepValidator.Validate(definition, new SweepLimits { MaxTasksPerSweep = 9 })).Field);
    }

    [Fact]
    public void Task_parameters_are_checked_by_the_same_rules()
    {
        var valid = Samples.Parameters;
        var broken = valid with
        {
            Model = " ",
            Seed = -1,
            Width = 100,
            Steps = 0,
            Scheduler = "heun",
            SegBlurSigma = 0,
            SegLayers = "q",
            SegWindowStart = 1,
        };

        Assert.Empty(valid.Validate());
        Assert.Equal(
            [
                new ParameterError("model", "is required: a model folder or a model name that the workers know"),
                new ParameterError("seed", "must be a whole number between 0 and 9223372036854775807 (2^63-1) (got -1)"),
                new ParameterError("width", "must be a multiple of 8 between 64 and 4096 (got 100)"),
                new ParameterError("steps", "must be between 1 and 1000 (got 0)"),
                new ParameterError("scheduler", "must be one of euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras (got 'heun')"),
                new ParameterError("seg_blur_sigma", "must be > 0 or \"inf\" (got 0)"),
                new ParameterError("seg_layers", "unknown group 'q'; use down, mid, up, all or d<i>, m<i>, u<i>"),
                new ParameterError("seg_window", "must be [start, stop] with 0 <= start < stop <= 1 (got [1, 1])"),
            ],
            broken.Validate());
    }

    [Fact]
    public void The_demo_sweep_is_valid_and_small()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "demo-sweep.yaml"));

        var result = SweepParser.ParseAndValidate(text, "demo-sweep.yaml");

        Assert.Empty(result.Errors);
        var definition = result.Definition!;
        Assert.Equal("tiny", definition.Model);
        Assert.Equal(16, SweepExpander.CountTasks(definition));
        Assert.All(SweepExpander.Expand(Guid.NewGuid(), definition), task =>
        {
            Assert.Equal((128, 128, 8), (task.Parameters.Width, task.Parameters.Height, task.Parameters.Steps));
            Assert.Empty(task.Parameters.Validate());
        });
    }
}
