using System.Text;
using Seg.Contracts.Messages;
using Seg.Contracts.Sweeps;
using Seg.Parameters;

namespace Seg.Contracts.Tests;

public class SweepExpanderTests
{
    private static readonly Guid SweepId = Guid.Parse("6f1c9a52-3b0e-4d8e-9a57-2f4e8c1d0b7a");

    private static readonly SweepDefinition Grid = new()
    {
        Model = "models/sdxl",
        Vae = "models/vae-fp32",
        Prompts = ["a cat", "a dog"],
        NegativePrompt = "blurry",
        Seeds = SeedSet.Range(100, 3),
        Size = ["1024x1024", "832x1216"],
        Steps = [20],
        Scheduler = ["euler", "ddim"],
        GuidanceScale = [5],
        GuidanceRescale = 0.7,
        SegLayers = ["mid", "d0,m0"],
        SegBlurSigma = [1, double.PositiveInfinity],
        SegScale = [0, 1.5, 3],
        SegWindow = new SegWindow(0.1, 0.9),
    };

    [Fact]
    public void The_count_is_the_product_of_the_list_lengths()
    {
        Assert.Equal(2 * 3 * 2 * 1 * 2 * 1 * 2 * 2 * 3, SweepExpander.CountTasks(Grid));
        Assert.Equal(SweepExpander.CountTasks(Grid), SweepExpander.Expand(SweepId, Grid).LongCount());
    }

    [Fact]
    public void Tasks_come_in_the_documented_order_with_every_parameter_resolved()
    {
        // The documented order, written out as nested loops: prompts slowest, seg_scale fastest.
        var expected = new List<RenderParameters>();
        foreach (var prompt in Grid.Prompts)
        {
            foreach (var seed in new long[] { 100, 101, 102 })
            {
                foreach (var (width, height) in new[] { (1024, 1024), (832, 1216) })
                {
                    foreach (var steps in Grid.Steps)
                    {
                        foreach (var scheduler in Grid.Scheduler)
                        {
                            foreach (var guidance in Grid.GuidanceScale)
                            {
                                foreach (var layers in Grid.SegLayers)
                                {
                                    foreach (var sigma in Grid.SegBlurSigma)
                                    {
                                        foreach (var scale in Grid.SegScale)
                                        {
                                            expected.Add(new RenderParameters
                                            {
                                                Model = "models/sdxl",
                                                Vae = "models/vae-fp32",
                                                Prompt = prompt,
                                                NegativePrompt = "blurry",
                                                Seed = seed,
                                                Width = width,
                                                Height = height,
                                                Steps = steps,
                                                Scheduler = scheduler,
                                                GuidanceScale = guidance,
                                                GuidanceRescale = 0.7,
                                                SegScale = scale,
                                                SegBlurSigma = sigma,
                                                SegLayers = layers,
                                                SegWindowStart = 0.1,
                                                SegWindowStop = 0.9,
                                            });
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        var tasks = SweepExpander.Expand(SweepId, Grid).ToList();

        Assert.Equal(expected, tasks.Select(task => task.Parameters));
        Assert.Equal(Enumerable.Range(0, expected.Count).Select(i => (long)i), tasks.Select(task => task.TaskIndex));
        Assert.All(tasks, task => Assert.Equal(SweepId, task.SweepId));
    }

    [Fact]
    public void Task_ids_are_stable_across_expansions_and_distinct()
    {
        var first = SweepExpander.Expand(SweepId, Grid).Select(task => task.TaskId).ToList();
        var second = SweepExpander.Expand(SweepId, Grid).Select(task => task.TaskId).ToList();
        var otherSweep = SweepExpander.Expand(Guid.NewGuid(), Grid).Select(task => task.TaskId);

        Assert.Equal(first, second);
        Assert.Equal(first.Count, first.Distinct().Count());
        Assert.Empty(first.Intersect(otherSweep));
    }

    [Theory]
    // Expected values from Python's uuid module: uuid.uuid5(uuid.UUID("6f1c9a52-..."), str(index)).
    [InlineData(0, "cb7fe51e-306c-5528-a060-e282df724e09")]
    [InlineData(1, "caa15a3b-fdf8-5634-beaa-c2e7ad3a30d8")]
    [InlineData(17, "b1381195-69ba-50bd-8e55-bf3b5464d841")]
    [InlineData(999999, "c9b732a7-244f-5a5c-a2a5-991bfa533b80")]
    public void Task_ids_are_uuid5_of_the_index_in_the_sweep_namespace(long index, string expected)
    {
        Assert.Equal(Guid.Parse(expected), TaskIds.For(SweepId, index));
    }

    [Fact]
    public void The_name_based_uuid_matches_the_published_example()
    {
        // Python's documentation: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org').
        var dns = Guid.Parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8");

        Assert.Equal(Guid.Parse("886313e1-3b8a-5372-9b90-0c9aee199e5d"), TaskIds.NameBased(dns, Encoding.UTF8.GetBytes("python.org")));
    }

    [Fact]
    public void Any_task_can_be_found_directly_and_expansion_can_resume()
    {
        var all = SweepExpander.Expand(SweepId, Grid).ToList();

        Assert.Equal(all[137], SweepExpander.TaskAt(SweepId, Grid, 137));
        Assert.Equal(all.Skip(140), SweepExpander.Expand(SweepId, Grid, firstTaskIndex: 140));
        Assert.Empty(SweepExpander.Expand(SweepId, Grid, firstTaskIndex: all.Count));
        Assert.Throws<ArgumentOutOfRangeException>(() => SweepExpander.TaskAt(SweepId, Grid, all.Count));
    }

    [Fact]
    public void A_lookup_gives_every_task_as_the_expansion_does_in_any_order()
    {
        // The dispatcher rebuilds each task's parameters this way from the stored definition, in claim order.
        var all = SweepExpander.Expand(SweepId, Grid).ToList();
        var lookup = SweepExpander.Lookup(SweepId, SweepParser.ParseJson(SweepParser.ToJson(Grid)).Definition!);

        Assert.Equal(all, Enumerable.Range(0, all.Count).Reverse().Select(i => lookup(i)).Reverse());
        Assert.Throws<ArgumentOutOfRangeException>(() => lookup(all.Count));
        Assert.Throws<ArgumentOutOfRangeException>(() => lookup(-1));
    }

    [Fact]
    public void A_million_task_sweep_counts_at_once_and_streams()
    {
        var definition = new SweepDefinition { Model = "tiny", Prompts = ["a cat"], Seeds = SeedSet.Range(0, 1_000_000) };
        Assert.Empty(SweepValidator.Validate(definition));
        Assert.Equal(1_000_000, SweepExpander.CountTasks(definition));

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var seen = 0L;
        foreach (var task in SweepExpander.Expand(SweepId, definition))
        {
            Assert.Equal(seen, task.Parameters.Seed);
            if (++seen == 1000)
            {
                break;
            }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        // A materialised list of a million tasks would take hundreds of megabytes; a thousand streamed tasks a few hundred kB.
        Assert.True(allocated < 2_000_000, $"allocated {allocated} bytes for 1000 tasks");
        Assert.Equal(999_999, SweepExpander.TaskAt(SweepId, definition, 999_999).Parameters.Seed);
    }

    [Fact]
    public void An_unresolvable_sweep_throws_naming_the_field()
    {
        var broken = Grid with { Size = ["1024x1024", "large"] };

        var error = Assert.Throws<ArgumentException>(() => SweepExpander.Expand(SweepId, broken));

        Assert.StartsWith("size[1] must be WIDTHxHEIGHT such as 1024x1024 (got 'large')", error.Message);
    }

    [Fact]
    public void A_blank_vae_resolves_to_none()
    {
        Assert.Null(SweepExpander.TaskAt(SweepId, Grid with { Vae = null }, 0).Parameters.Vae);
    }

    [Fact]
    public void The_axes_come_in_expansion_order_and_those_with_several_values_vary()
    {
        var axes = SweepAxes.Of(Grid);

        Assert.Equal(["prompts", "seeds", "size", "steps", "scheduler", "guidance_scale", "seg_layers", "seg_blur_sigma", "seg_scale"],
            axes.Select(axis => axis.Name));
        Assert.Equal(axes.Select(axis => axis.Order).Order(), axes.Select(axis => axis.Order));
        Assert.Equal(["prompts", "seeds", "size", "scheduler", "seg_layers", "seg_blur_sigma", "seg_scale"],
            SweepAxes.Varied(Grid).Select(axis => axis.Name));
        var size = axes.Single(axis => axis.Name == "size");
        Assert.Equal([ParameterDefinitions.Width, ParameterDefinitions.Height], size.Parameters);
        Assert.Equal([ParameterDefinitions.SegBlurSigma], axes.Single(axis => axis.Name == "seg_blur_sigma").Parameters);
    }

    [Fact]
    public void Axis_labels_are_values_as_people_write_them_and_place_every_task()
    {
        var axes = SweepAxes.Of(Grid);
        var label = (string name, long index) => axes.Single(axis => axis.Name == name).Label(index);

        Assert.Equal(["1024x1024", "832x1216"], [label("size", 0), label("size", 1)]);
        Assert.Equal(["1", "inf"], [label("seg_blur_sigma", 0), label("seg_blur_sigma", 1)]);
        Assert.Equal(["0", "1.5", "3"], [label("seg_scale", 0), label("seg_scale", 1), label("seg_scale", 2)]);
        Assert.Equal(["100", "102"], [label("seeds", 0), label("seeds", 2)]);
        Assert.Equal("d0,m0", label("seg_layers", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => label("seg_scale", 3));

        // A grid cell: each task's place on every axis is the digit of its index.
        foreach (var task in SweepExpander.Expand(SweepId, Grid))
        {
            var rest = task.TaskIndex;
            foreach (var axis in axes.Reverse())
            {
                Assert.Equal(axis.Label(rest % axis.Count), axis.LabelOf(task.Parameters));
                rest /= axis.Count;
            }
        }
    }

    [Fact]
    public void The_demo_sweep_varies_sigma_and_scale_for_a_paper_grid()
    {
        var demo = new SweepDefinition
        {
            Model = "tiny",
            Prompts = ["a cat"],
            Seeds = SeedSet.Of([1]),
            SegBlurSigma = [1, double.PositiveInfinity],
            SegScale = [0, 3],
        };

        Assert.Equal(["seg_blur_sigma", "seg_scale"], SweepAxes.Varied(demo).Select(axis => axis.Name));
    }
}
