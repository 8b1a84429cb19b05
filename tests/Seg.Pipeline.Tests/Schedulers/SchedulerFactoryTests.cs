using Seg.Pipeline.Noise;
using Seg.Pipeline.Schedulers;

namespace Seg.Pipeline.Tests.Schedulers;

public class SchedulerFactoryTests
{
    [Fact]
    public void NamesAreTheFiveSchedulers()
    {
        Assert.Equal(["euler", "euler_a", "ddim", "dpmpp_2m", "dpmpp_2m_karras"], SchedulerFactory.Names);
    }

    [Theory]
    [InlineData("euler", typeof(EulerDiscreteScheduler))]
    [InlineData("euler_a", typeof(EulerAncestralDiscreteScheduler))]
    [InlineData("ddim", typeof(DdimScheduler))]
    [InlineData("dpmpp_2m", typeof(DpmSolverMultistepScheduler))]
    [InlineData("dpmpp_2m_karras", typeof(DpmSolverMultistepScheduler))]
    public void CreatesEachNamedScheduler(string name, Type type)
    {
        var scheduler = SchedulerFactory.Create(name, SchedulerConfig.SdxlBase, 25);

        Assert.IsType(type, scheduler);
        Assert.Equal(name, scheduler.Name);
        Assert.Equal(25, scheduler.Timesteps.Count);
    }

    [Fact]
    public void DpmKarrasIsChosenByNameNotByConfig()
    {
        var karrasConfig = SchedulerConfig.SdxlBase with { UseKarrasSigmas = true };

        var plain = (DpmSolverMultistepScheduler)SchedulerFactory.Create("dpmpp_2m", karrasConfig, 20);
        var karras = (DpmSolverMultistepScheduler)SchedulerFactory.Create("dpmpp_2m_karras", SchedulerConfig.SdxlBase, 20);

        Assert.False(plain.UsesKarrasSigmas);
        Assert.True(karras.UsesKarrasSigmas);
    }

    [Fact]
    public void UnknownNameListsTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => SchedulerFactory.Create("heun", SchedulerConfig.SdxlBase, 20));
        Assert.StartsWith("scheduler must be one of euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras (got 'heun')", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void StepsMustBePositive(int steps)
    {
        foreach (var name in SchedulerFactory.Names)
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => SchedulerFactory.Create(name, SchedulerConfig.SdxlBase, steps));
            Assert.StartsWith($"steps must be > 0 (got {steps})", error.Message);
        }
    }

    [Fact]
    public void StepsCannotExceedTheTrainingSteps()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SchedulerFactory.Create("euler", SchedulerConfig.SdxlBase, 1001));
        Assert.StartsWith("steps must be <= num_train_timesteps (1000) (got 1001)", error.Message);
    }

    [Fact]
    public void OneStepSchedulesWork()
    {
        foreach (var name in SchedulerFactory.Names)
        {
            var scheduler = SchedulerFactory.Create(name, SchedulerConfig.SdxlBase, 1);
            float[] sample = [0.5f];
            scheduler.Step([0.1f], 0, sample, new TorchGenerator(0));
            Assert.True(float.IsFinite(sample[0]), $"{name}: {sample[0]}");
        }
    }
}
