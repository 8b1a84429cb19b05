using Seg.Contracts.Sweeps;
using Seg.Parameters;

namespace Seg.Contracts.Tests;

public class SweepParserTests
{
    private const string FullYaml = """
        # every field, with lists, a seed range and an infinite sigma
        name: cats at dusk
        tags:
          project: cats
          run: 3
        model: models/sdxl-seg
        vae: models/sdxl-vae-fp32
        prompts:
          - a photo of a cat
          - "a cat, oil painting"
        negative_prompt: blurry
        seeds: {start: 100, count: 1000}
        seg_scale: [0, 3.5]
        seg_blur_sigma: [1, 4, inf]
        seg_layers: [mid, "d0,m0"]
        seg_window: [0.1, 0.9]
        guidance_scale: [1, 5]
        guidance_rescale: 0.7
        steps: [20, 30]
        size: [1024x1024, 832x1216]
        scheduler: [euler, dpmpp_2m_karras]
        priority: 5
        """;

    private const string FullJson = """
        {
          "name": "cats at dusk",
          "tags": {"project": "cats", "run": "3"},
          "model": "models/sdxl-seg",
          "vae": "models/sdxl-vae-fp32",
          "prompts": ["a photo of a cat", "a cat, oil painting"],
          "negative_prompt": "blurry",
          "seeds": {"start": 100, "count": 1000},
          "seg_scale": [0, 3.5],
          "seg_blur_sigma": [1, 4, "inf"],
          "seg_layers": ["mid", "d0,m0"],
          "seg_window": [0.1, 0.9],
          "guidance_scale": [1, 5],
          "guidance_rescale": 0.7,
          "steps": [20, 30],
          "size": ["1024x1024", "832x1216"],
          "scheduler": ["euler", "dpmpp_2m_karras"],
          "priority": 5
        }
        """;

    [Fact]
    public void Yaml_and_json_read_to_the_same_definition()
    {
        var fromYaml = Parsed(SweepParser.ParseYaml(FullYaml));
        var fromJson = Parsed(SweepParser.ParseJson(FullJson));

        Assert.Equivalent(fromJson, fromYaml, strict: true);
        Assert.Equal("cats at dusk", fromYaml.Name);
        Assert.Equal(new Dictionary<string, string> { ["project"] = "cats", ["run"] = "3" }, fromYaml.Tags);
        Assert.Equal("models/sdxl-seg", fromYaml.Model);
        Assert.Equal("models/sdxl-vae-fp32", fromYaml.Vae);
        Assert.Equal(["a photo of a cat", "a cat, oil painting"], fromYaml.Prompts);
        Assert.Equal("blurry", fromYaml.NegativePrompt);
        Assert.True(fromYaml.Seeds.IsRange);
        Assert.Equal((100, 1000), (fromYaml.Seeds.Start, fromYaml.Seeds.Count));
        Assert.Equal([0, 3.5], fromYaml.SegScale);
        Assert.Equal([1, 4, double.PositiveInfinity], fromYaml.SegBlurSigma);
        Assert.Equal(["mid", "d0,m0"], fromYaml.SegLayers);
        Assert.Equal(new SegWindow(0.1, 0.9), fromYaml.SegWindow);
        Assert.Equal([1, 5], fromYaml.GuidanceScale);
        Assert.Equal(0.7, fromYaml.GuidanceRescale);
        Assert.Equal([20, 30], fromYaml.Steps);
        Assert.Equal(["1024x1024", "832x1216"], fromYaml.Size);
        Assert.Equal(["euler", "dpmpp_2m_karras"], fromYaml.Scheduler);
        Assert.Equal(5, fromYaml.Priority);
    }

    [Fact]
    public void Absent_fields_take_the_documented_defaults()
    {
        var definition = Parsed(SweepParser.ParseYaml("model: tiny\nprompts: [a cat]\nseeds: [1]\n"));

        Assert.Equal("", definition.Name);
        Assert.Empty(definition.Tags);
        Assert.Null(definition.Vae);
        Assert.Equal("", definition.NegativePrompt);
        Assert.Equal([3.0], definition.SegScale);
        Assert.Equal([double.PositiveInfinity], definition.SegBlurSigma);
        Assert.Equal(["mid"], definition.SegLayers);
        Assert.Equal(new SegWindow(0, 1), definition.SegWindow);
        Assert.Equal([5.0], definition.GuidanceScale);
        Assert.Equal(0, definition.GuidanceRescale);
        Assert.Equal([30], definition.Steps);
        Assert.Equal(["1024x1024"], definition.Size);
        Assert.Equal(["euler"], definition.Scheduler);
        Assert.Equal(0, definition.Priority);
    }

    [Theory]
    [InlineData("""
        model: tiny
        prompts: a cat
        seeds: 7
        steps: 20
        seg_scale: 2.5
        seg_blur_sigma: inf
        seg_layers: up
        guidance_scale: 7
        size: 512x512
        scheduler: ddim
        """)]
    [InlineData("""
        {"model": "tiny", "prompts": "a cat", "seeds": 7, "steps": 20, "seg_scale": 2.5, "seg_blur_sigma": "inf",
         "seg_layers": "up", "guidance_scale": 7, "size": "512x512", "scheduler": "ddim"}
        """)]
    public void A_single_value_reads_as_a_one_element_list(string text)
    {
        var definition = Parsed(SweepParser.Parse(text, null));

        Assert.Equal(["a cat"], definition.Prompts);
        Assert.Equal([7L], definition.Seeds.Values!);
        Assert.Equal([20], definition.Steps);
        Assert.Equal([2.5], definition.SegScale);
        Assert.Equal([double.PositiveInfinity], definition.SegBlurSigma);
        Assert.Equal(["up"], definition.SegLayers);
        Assert.Equal([7.0], definition.GuidanceScale);
        Assert.Equal(["512x512"], definition.Size);
        Assert.Equal(["ddim"], definition.Scheduler);
    }

    [Theory]
    [InlineData("seeds: [3, 1, 2]", new long[] { 3, 1, 2 })]
    [InlineData("seeds: [9223372036854775807]", new long[] { long.MaxValue })]
    [InlineData("seeds: {start: 100, count: 3}", new long[] { 100, 101, 102 })]
    [InlineData("seeds: {count: 2}", new long[] { 0, 1 })]
    public void Seeds_read_as_a_list_or_a_range(string seedsLine, long[] expected)
    {
        var seeds = Parsed(SweepParser.ParseYaml($"model: tiny\nprompts: [a]\n{seedsLine}\n")).Seeds;

        Assert.Equal(expected.Length, seeds.Count);
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(i => seeds[i]));
        Assert.Equal(seedsLine.Contains('{'), seeds.IsRange);
    }

    [Theory]
    [InlineData("seg_blur_sigma: [inf, .inf, Infinity, 2.5, 1e3]")]
    [InlineData("seg_blur_sigma: ['inf', \".inf\", INF, 2.5, 1000]")]
    public void Infinite_sigma_is_written_inf(string sigmaLine)
    {
        var sigmas = Parsed(SweepParser.ParseYaml($"model: tiny\nprompts: [a]\nseeds: [1]\n{sigmaLine}\n")).SegBlurSigma;

        Assert.Equal([double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity, 2.5, 1000], sigmas);
    }

    [Fact]
    public void Yaml_numbers_are_taken_as_text_where_text_is_expected()
    {
        var definition = Parsed(SweepParser.ParseYaml("name: 2024\nmodel: tiny\nprompts: [42, true]\nseeds: [1]\nsize: 1024\n"));

        Assert.Equal("2024", definition.Name);
        Assert.Equal(["42", "true"], definition.Prompts);
        Assert.Equal(["1024"], definition.Size);
    }

    [Fact]
    public void Empty_yaml_values_read_as_empty_text_and_the_full_window()
    {
        var definition = Parsed(SweepParser.ParseYaml("model: tiny\nprompts: [a]\nseeds: [1]\nnegative_prompt:\nseg_window:\ntags:\n"));

        Assert.Equal("", definition.NegativePrompt);
        Assert.Equal(SegWindow.Full, definition.SegWindow);
        Assert.Empty(definition.Tags);
    }

    [Fact]
    public void Malformed_yaml_gives_an_error_with_line_and_column()
    {
        var result = SweepParser.ParseYaml("model: tiny\nprompts:\n  - a cat\n seeds: [1]\n");

        var error = Assert.Single(result.Errors);
        Assert.Null(result.Definition);
        Assert.Equal("sweep", error.Field);
        Assert.StartsWith("is not valid YAML at line 4, column ", error.Rule);
    }

    [Fact]
    public void An_unclosed_yaml_list_gives_an_error_rather_than_an_exception()
    {
        var error = Assert.Single(SweepParser.ParseYaml("model: tiny\nprompts: [a cat\nseeds: [1]\n").Errors);

        Assert.Equal("sweep", error.Field);
        Assert.StartsWith("is not valid YAML", error.Rule);
    }

    [Fact]
    public void Malformed_json_gives_an_error_with_line_and_column()
    {
        var error = Assert.Single(SweepParser.ParseJson("{\n  \"model\": \"tiny\",\n  \"prompts\" [\"a\"]\n}").Errors);

        Assert.Equal("sweep", error.Field);
        Assert.StartsWith("is not valid JSON at line 3, column 13: ", error.Rule);
        Assert.DoesNotContain("LineNumber", error.Rule);
    }

    [Fact]
    public void Json_columns_count_characters_not_bytes()
    {
        var error = Assert.Single(SweepParser.ParseJson("{\"prompts\": [\"chat été\" \"x\"]}").Errors);

        Assert.StartsWith("is not valid JSON at line 1, column 25: ", error.Rule);
    }

    [Fact]
    public void A_wrong_value_in_yaml_names_its_path_line_and_column()
    {
        var error = Assert.Single(SweepParser.ParseYaml("model: tiny\nprompts: [a]\nseeds: [1]\nseg_scale: [1, high]\n").Errors);

        Assert.Equal(new ValidationError("seg_scale[1]", "must be a number (got \"high\") at line 4, column 16"), error);
    }

    [Fact]
    public void A_wrong_value_in_json_names_its_path_line_and_column()
    {
        var json = "{\n  \"model\": \"tiny\",\n  \"seeds\": {\"start\": 1, \"count\": \"ten\"}\n}";

        var error = Assert.Single(SweepParser.ParseJson(json).Errors);

        Assert.Equal(new ValidationError("seeds.count", $"{ParameterDefinitions.SeedRule} (got \"ten\") at line 3, column 34"), error);
    }

    [Theory]
    [InlineData("steps: [20, 25.5]", "steps[1]", "must be a whole number (got 25.5)")]
    [InlineData("seg_blur_sigma: [1, huge]", "seg_blur_sigma[1]", "must be a number or \"inf\" (got \"huge\")")]
    [InlineData("seg_scale: {a: 1}", "seg_scale", "must be a number (got a mapping)")]
    [InlineData("prompts: [[a, b]]", "prompts[0]", "must be text (got a list)")]
    [InlineData("seeds: [1, -2.5]", "seeds[1]", ParameterDefinitions.SeedRule + " (got -2.5)")]
    [InlineData("seeds: [18446744073709551615]", "seeds[0]", ParameterDefinitions.SeedRule + " (got 18446744073709551615)")]
    [InlineData("seeds: {start: 1}", "seeds.count", "is required in a seed range {start: 100, count: 1000}")]
    [InlineData("seeds: {start: 1, count: 3, step: 2}", "seeds.step", "is not a known field; a seed range has start and count")]
    [InlineData("seeds: yes", "seeds", "must be a list of seeds [1, 2, 3] or a range {start: 100, count: 1000} (got \"yes\")")]
    [InlineData("seg_window: [0.2]", "seg_window", "must be [start, stop] (got 1 values)")]
    [InlineData("tags: {run: [1]}", "tags.run", "must be text (got a list)")]
    [InlineData("priority: high", "priority", "must be a whole number (got \"high\")")]
    public void A_value_of_the_wrong_form_names_its_field(string line, string field, string rule)
    {
        var error = Assert.Single(SweepParser.ParseYaml($"model: tiny\n{line}\n").Errors);

        Assert.Equal(field, error.Field);
        Assert.StartsWith(rule, error.Rule);
    }

    [Fact]
    public void Every_unknown_field_is_reported_with_its_line()
    {
        var errors = SweepParser.ParseYaml("model: tiny\nseg_sigma: [1]\nprompts: [a]\nstepz: 20\n").Errors;

        Assert.Equal(["seg_sigma", "stepz"], errors.Select(e => e.Field));
        Assert.StartsWith("is not a known field at line 2, column 12; the fields are name, tags, model, vae, prompts,", errors[0].Rule);
        Assert.StartsWith("is not a known field at line 4, column 8;", errors[1].Rule);
    }

    [Theory]
    [InlineData("", "must be a mapping of sweep fields such as model, prompts and seeds (got an empty document)")]
    [InlineData("- a\n- b\n", "must be a mapping of sweep fields such as model, prompts and seeds (got a list)")]
    [InlineData("model: a\n---\nmodel: b\n", "must be one YAML document (found 2)")]
    public void A_yaml_document_that_is_not_one_mapping_is_rejected(string yaml, string rule)
    {
        Assert.Equal(new ValidationError("sweep", rule), Assert.Single(SweepParser.ParseYaml(yaml).Errors));
    }

    [Fact]
    public void Duplicate_fields_are_rejected_in_both_formats()
    {
        var yaml = Assert.Single(SweepParser.ParseYaml("model: a\nprompts: [x]\nmodel: b\n").Errors);
        var json = Assert.Single(SweepParser.ParseJson("{\"model\": \"a\", \"model\": \"b\"}").Errors);

        Assert.Equal("sweep", yaml.Field);
        Assert.Contains("line 3", yaml.Rule);
        Assert.Equal("sweep", json.Field);
        Assert.Contains("Duplicate property 'model'", json.Rule);
    }

    [Fact]
    public void Yaml_aliases_cannot_blow_up_the_document()
    {
        var yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + string.Concat(Enumerable.Range(1, 8).Select(i =>
            $"{(char)('a' + i)}: &{(char)('a' + i)} [{string.Join(", ", Enumerable.Repeat($"*{(char)('a' + i - 1)}", 10))}]\n"));

        var error = Assert.Single(SweepParser.ParseYaml(yaml).Errors);

        Assert.Equal(new ValidationError("sweep", "has more than 2000000 values (do YAML aliases expand too far?)"), error);
    }

    [Theory]
    [InlineData("sweep.json", true)]
    [InlineData("SWEEP.JSON", true)]
    [InlineData("sweep.yaml", false)]
    [InlineData("sweep.yml", false)]
    [InlineData("application/json; charset=utf-8", true)]
    [InlineData("application/yaml", false)]
    [InlineData("text/x-yaml", false)]
    [InlineData(null, true)]
    [InlineData("sweep.txt", true)]
    public void Parse_picks_the_format_from_the_name_or_content_type(string? hint, bool json)
    {
        // JSON with a comment: the JSON reader takes it, the YAML reader does not.
        const string JsonOnly = "{\"model\": \"tiny\", \"prompts\": [\"a\"], \"seeds\": [1] // comment\n}";

        Assert.Equal(json, SweepParser.Parse(JsonOnly, hint).Succeeded);
    }

    [Fact]
    public void Parse_without_a_hint_reads_yaml_when_the_text_does_not_start_with_a_brace()
    {
        Assert.True(SweepParser.Parse("model: tiny\nprompts: [a]\nseeds: [1]\n", null).Succeeded);
    }

    [Fact]
    public void A_definition_written_as_json_reads_back_the_same()
    {
        var definition = Parsed(SweepParser.ParseYaml(FullYaml)) with { Seeds = SeedSet.Of([5, 6]), Vae = null };

        var json = SweepParser.ToJson(definition);
        var again = Parsed(SweepParser.ParseJson(json));

        Assert.Equivalent(definition, again, strict: true);
        Assert.Contains("\"inf\"", json);
        Assert.DoesNotContain("\"vae\"", json);
    }

    [Fact]
    public void Parse_and_validate_returns_the_definition_only_when_it_is_valid()
    {
        Assert.True(SweepParser.ParseAndValidate("model: tiny\nprompts: [a]\nseeds: [1]\n", "s.yaml").Succeeded);

        var invalid = SweepParser.ParseAndValidate("model: tiny\nprompts: [a]\nseeds: [1]\nsteps: 0\n", "s.yaml");

        Assert.Null(invalid.Definition);
        Assert.Equal(new ValidationError("steps[0]", "must be between 1 and 1000 (got 0)"), Assert.Single(invalid.Errors));
    }

    private static SweepDefinition Parsed(SweepParseResult result)
    {
        Assert.Empty(result.Errors);
        return Assert.IsType<SweepDefinition>(result.Definition);
    }
}
