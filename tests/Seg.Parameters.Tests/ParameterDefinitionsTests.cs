using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Seg.Parameters.Tests;

public class ParameterDefinitionsTests
{
    private static readonly PropertyInfo[] Properties =
        typeof(RenderParameters).GetProperties().Where(p => p.GetCustomAttribute<JsonPropertyNameAttribute>() is not null).ToArray();

    [Fact]
    public void Every_property_of_the_parameters_has_one_definition_with_its_name_and_type()
    {
        Assert.Equal(Properties.Length, ParameterDefinitions.All.Count);
        Assert.Equal(ParameterDefinitions.All.Count, ParameterDefinitions.All.Select(d => d.Name).Distinct().Count());
        foreach (var property in Properties)
        {
            var definition = Assert.Single(ParameterDefinitions.All, d => d.PropertyName == property.Name);
            Assert.Equal(property.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name, definition.Name);
            Assert.Equal(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType, definition.ValueType);
            Assert.Same(definition, ParameterDefinitions.Find(definition.Name));
        }
        Assert.Null(ParameterDefinitions.Find("sigma"));
    }

    [Fact]
    public void The_types_are_what_an_exporter_writes()
    {
        var types = ParameterDefinitions.All.ToDictionary(d => d.Name, d => d.ValueType);

        Assert.Equal(typeof(long), types["seed"]);
        Assert.Equal(typeof(double), types["seg_blur_sigma"]);
        Assert.Equal(typeof(int), types["width"]);
        Assert.Equal(typeof(string), types["vae"]);
        Assert.True(ParameterDefinitions.Vae.IsOptional);
        Assert.False(ParameterDefinitions.Model.IsOptional);
    }

    [Fact]
    public void Each_definition_reads_and_sets_its_own_property()
    {
        var changed = new Dictionary<string, object?>
        {
            ["model"] = "sdxl",
            ["vae"] = "vae-fp32",
            ["prompt"] = "a cat",
            ["negative_prompt"] = "blurry",
            ["seed"] = 42L,
            ["width"] = 832,
            ["height"] = 1216,
            ["steps"] = 20,
            ["scheduler"] = "ddim",
            ["guidance_scale"] = 7.5,
            ["guidance_rescale"] = 0.7,
            ["seg_scale"] = 1.5,
            ["seg_blur_sigma"] = 10.0,
            ["seg_layers"] = "d0,m0",
            ["seg_window_start"] = 0.25,
            ["seg_window_stop"] = 0.75,
        };
        var parameters = ParameterDefinitions.Defaults;
        foreach (var definition in ParameterDefinitions.All)
        {
            parameters = With(definition, parameters, changed[definition.Name]);
        }

        foreach (var definition in ParameterDefinitions.All)
        {
            Assert.Equal(changed[definition.Name], definition.ReadValue(parameters));
            Assert.Equal(definition.DefaultValue, definition.ReadValue(ParameterDefinitions.Defaults));
        }
        Assert.Equal(changed.Keys, JsonDocument.Parse(JsonSerializer.Serialize(parameters)).RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void The_defaults_are_the_official_pipelines_and_keep_every_rule_but_the_required_model()
    {
        var defaults = ParameterDefinitions.Defaults;

        Assert.Equal((30, 5.0, 3.0, double.PositiveInfinity, "mid", "euler"),
            (defaults.Steps, defaults.GuidanceScale, defaults.SegScale, defaults.SegBlurSigma, defaults.SegLayers, defaults.Scheduler));
        Assert.Equal((1024, 1024, 0.0, 1.0), (defaults.Width, defaults.Height, defaults.SegWindowStart, defaults.SegWindowStop));
        Assert.Equal([new ParameterError("model", "is required: a model folder or a model name that the workers know")], defaults.Validate());
        Assert.Empty((defaults with { Model = "tiny" }).Validate());
    }

    [Theory]
    [InlineData("width", "100", "must be a multiple of 8 between 64 and 4096 (got 100)")]
    [InlineData("height", "4104", "must be a multiple of 8 between 64 and 4096 (got 4104)")]
    [InlineData("steps", "1001", "must be between 1 and 1000 (got 1001)")]
    [InlineData("seed", "-1", "must be a whole number between 0 and 9223372036854775807 (2^63-1) (got -1)")]
    [InlineData("scheduler", "heun", "must be one of euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras (got 'heun')")]
    [InlineData("guidance_scale", "-0.5", "must be >= 0 (got -0.5)")]
    [InlineData("guidance_rescale", "1.5", "must be between 0 and 1 (got 1.5)")]
    [InlineData("seg_scale", "-1", "must be >= 0 (got -1)")]
    [InlineData("seg_blur_sigma", "-1", "must be > 0 or \"inf\" (got -1)")]
    [InlineData("seg_blur_sigma", "0", "must be > 0 or \"inf\" (got 0)")]
    [InlineData("seg_layers", "mid,x", "unknown group 'x'; use down, mid, up, all or d<i>, m<i>, u<i>")]
    [InlineData("seg_window_stop", "2", "must be between 0 and 1 (got 2)")]
    public void A_value_that_breaks_the_rule_is_named_with_the_rule(string name, string text, string rule)
    {
        var definition = ParameterDefinitions.Find(name)!;

        Assert.True(definition.TryParseValue(text, out var value, out _));
        Assert.Equal(rule, definition.CheckValue(value));
    }

    [Theory]
    [InlineData("1", 1.0)]
    [InlineData("3.7", 3.7)]
    [InlineData(" 1e2 ", 100.0)]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("INF", double.PositiveInfinity)]
    [InlineData("+inf", double.PositiveInfinity)]
    [InlineData(".inf", double.PositiveInfinity)]
    [InlineData("Infinity", double.PositiveInfinity)]
    public void A_sigma_is_read_as_people_write_it(string text, double expected)
    {
        Assert.True(ParameterDefinitions.SegBlurSigma.TryParse(text, out var sigma, out _));
        Assert.Equal(expected, sigma);
        Assert.Null(ParameterDefinitions.SegBlurSigma.Check(sigma));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("-Infinity")]
    public void A_sigma_that_is_not_positive_breaks_the_rule(string text)
    {
        Assert.True(ParameterDefinitions.SegBlurSigma.TryParse(text, out var sigma, out _));
        Assert.StartsWith("must be > 0 or \"inf\" (got ", ParameterDefinitions.SegBlurSigma.Check(sigma));
    }

    [Theory]
    [InlineData("")]
    [InlineData("wide")]
    [InlineData("1,5")]
    [InlineData("nan")]
    public void A_sigma_that_is_no_number_is_not_read(string text)
    {
        Assert.False(ParameterDefinitions.SegBlurSigma.TryParse(text, out _, out var error));
        Assert.Equal($"must be a number or \"inf\" (got '{text}')", error);
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(10000.0, "inf")]
    [InlineData(9999.0, "9999")]
    [InlineData(0.5, "0.5")]
    [InlineData(4.0, "4")]
    public void Sigmas_above_the_cut_off_are_written_inf(double sigma, string text)
    {
        Assert.Equal(text, ParameterDefinitions.SegBlurSigma.Format(sigma));
        Assert.Equal(sigma > 9999, SegBlurSigma.IsInfinite(sigma));
    }

    [Theory]
    [InlineData("seed", "12", 12L)]
    [InlineData("steps", " 20 ", 20)]
    [InlineData("guidance_scale", "7.5", 7.5)]
    [InlineData("scheduler", "ddim", "ddim")]
    [InlineData("vae", "", null)]
    public void Values_round_trip_as_people_write_them(string name, string text, object? expected)
    {
        var definition = ParameterDefinitions.Find(name)!;

        Assert.True(definition.TryParseValue(text, out var value, out _));
        Assert.Equal(expected, value);
        Assert.Equal(text.Trim(), definition.FormatValue(value));
    }

    [Theory]
    [InlineData("seed", "1.5", "must be a whole number (got '1.5')")]
    [InlineData("steps", "many", "must be a whole number (got 'many')")]
    [InlineData("seg_scale", "inf", "must be a number (got 'inf')")]
    public void Text_that_is_no_value_of_the_type_says_what_it_must_be(string name, string text, string error)
    {
        Assert.False(ParameterDefinitions.Find(name)!.TryParseValue(text, out _, out var message));
        Assert.Equal(error, message);
    }

    [Fact]
    public void A_value_of_another_type_is_refused_naming_the_parameter()
    {
        var error = Assert.Throws<ArgumentException>(() => ParameterDefinitions.Steps.FormatValue("30"));
        Assert.StartsWith("steps takes Int32 values (got String)", error.Message);
    }

    [Fact]
    public void The_window_is_checked_as_a_pair()
    {
        var parameters = ParameterDefinitions.Defaults with { Model = "tiny", SegWindowStart = 0.5, SegWindowStop = 0.5 };

        Assert.Equal([new ParameterError("seg_window", "must be [start, stop] with 0 <= start < stop <= 1 (got [0.5, 0.5])")], parameters.Validate());
        Assert.Null(ParameterDefinitions.CheckSegWindow(0.2, 0.8));
        Assert.NotNull(ParameterDefinitions.CheckSegWindow(-0.1, 0.8));
    }

    [Fact]
    public void Sweep_placement_gives_the_expansion_order()
    {
        var swept = ParameterDefinitions.All.Where(d => d.Sweep.IsSwept).OrderBy(d => d.Sweep.Order).Select(d => d.Sweep.Field).Distinct();

        Assert.Equal(["prompts", "seeds", "size", "steps", "scheduler", "guidance_scale", "seg_layers", "seg_blur_sigma", "seg_scale"], swept);
        Assert.Equal(["model", "vae", "negative_prompt", "guidance_rescale", "seg_window"],
            ParameterDefinitions.All.Where(d => !d.Sweep.IsSwept).Select(d => d.Sweep.Field).Distinct());
    }

    private static RenderParameters With(ParameterDefinition definition, RenderParameters parameters, object? value) => definition switch
    {
        ParameterDefinition<string> text => text.With(parameters, (string?)value!),
        ParameterDefinition<int> integer => integer.With(parameters, (int)value!),
        ParameterDefinition<long> int64 => int64.With(parameters, (long)value!),
        ParameterDefinition<double> number => number.With(parameters, (double)value!),
        _ => throw new ArgumentOutOfRangeException(nameof(definition)),
    };
}
