using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Seg.ServiceDefaults;

namespace Seg.Worker.Tests;

/// <summary>How a service's end becomes its exit code (the coordinator and the worker both run through it).</summary>
public class SegHostTests
{
    private sealed class Throwing : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("the loop broke");
        }
    }

    private sealed class StopsTheHost(IHostApplicationLifetime lifetime) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken)
        {
            // As SIGTERM does, once the host has started.
            lifetime.ApplicationStarted.Register(lifetime.StopApplication);
            return Task.CompletedTask;
        }
    }

    private static WebApplicationBuilder Builder<T>()
        where T : class, IHostedService
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHostedService<T>();
        return builder;
    }

    [Fact]
    public async Task A_background_service_that_throws_gives_exit_code_1()
    {
        Assert.Equal(SegHost.FatalExitCode, await Builder<Throwing>().RunToExitCodeAsync("test", _ => { }));
    }

    [Fact]
    public async Task A_requested_stop_gives_exit_code_0()
    {
        Assert.Equal(0, await Builder<StopsTheHost>().RunToExitCodeAsync("test", _ => { }));
    }

    [Fact]
    public async Task A_failed_start_gives_exit_code_1()
    {
        Assert.Equal(SegHost.FatalExitCode, await Builder<StopsTheHost>().RunToExitCodeAsync("test", _ => throw new InvalidOperationException("no")));
    }
}
