using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Seg.Parameters;

namespace Seg.Storage.Tests;

/// <summary>The migration that gave <c>images</c> a column per render parameter, on rows written before it.</summary>
public sealed class ParameterColumnsMigrationTests(EmptyPostgresDatabaseFixture fixture) : IClassFixture<EmptyPostgresDatabaseFixture>
{
    private const string InitialCreate = "20261127071234_InitialCreate";

    private readonly PostgresDatabaseFixture _database = fixture.Database;

    [Fact]
    public async Task Images_get_a_column_per_parameter_filled_from_the_rows_parameters_json()
    {
        await using var db = _database.CreateContext();
        await db.GetService<IMigrator>().MigrateAsync(InitialCreate);
        var sweep = Guid.NewGuid();
        var (windowed, plain) = (Guid.NewGuid(), Guid.NewGuid());
        await ExecuteAsync($"""
            INSERT INTO sweeps (id, name, definition_json, tags_json, priority, status, task_count, max_attempts, created_at, updated_at)
            VALUES ('{sweep}', 'old', '{"{}"}', '{"{}"}', 0, 'running', 2, 3, now(), now());
            INSERT INTO render_tasks (id, sweep_id, task_index, status, priority, attempts, parameters_json, model, created_at, gpu_seconds)
            VALUES ('{windowed}', '{sweep}', 0, 'succeeded', 0, 1, '{"{}"}', 'sdxl', now(), 1),
                   ('{plain}', '{sweep}', 1, 'succeeded', 0, 1, '{"{}"}', 'sdxl', now(), 1);
            """);
        await InsertOldImageAsync(sweep, windowed,
            """{"model":"sdxl","vae":"vae-fp32","guidance_rescale":0.7,"seg_window_start":0.2,"seg_window_stop":0.8}""");
        await InsertOldImageAsync(sweep, plain, """{"model":"sdxl","vae":null}""");

        await db.Database.MigrateAsync();

        var columns = await QueryStringsAsync("SELECT column_name FROM information_schema.columns WHERE table_name = 'images'");
        Assert.All(ParameterDefinitions.All, definition => Assert.Contains(definition.Name, columns));
        Assert.DoesNotContain("model_name", columns);
        var images = await db.Images.AsNoTracking().OrderBy(i => i.Parameters.SegWindowStart).ToListAsync();
        Assert.Equal(("sdxl", null, 0.0, 0.0, 1.0), Columns(images[0].Parameters));
        Assert.Equal(("sdxl", "vae-fp32", 0.7, 0.2, 0.8), Columns(images[1].Parameters));
        Assert.Equal(("a cat", 7L, double.PositiveInfinity), (images[1].Parameters.Prompt, images[1].Parameters.Seed, images[1].Parameters.SegBlurSigma));
    }

    private static (string, string?, double, double, double) Columns(RenderParameters p) =>
        (p.Model, p.Vae, p.GuidanceRescale, p.SegWindowStart, p.SegWindowStop);

    private Task InsertOldImageAsync(Guid sweep, Guid task, string parametersJson) => ExecuteAsync($"""
        INSERT INTO images (task_id, sweep_id, parameters_json, prompt, negative_prompt, seed, width, height, steps, scheduler,
            guidance_scale, seg_scale, seg_blur_sigma, seg_layers, model_name, model_file_hashes_json, patch_version,
            software_version, worker_id, worker_host, device, onnx_runtime_version, execution_provider, timings_json,
            image_sha256, blob_name, blob_uri, image_width, image_height, image_bytes, created_at)
        VALUES ('{task}', '{sweep}', '{parametersJson}', 'a cat', '', 7, 64, 64, 3, 'euler', 5, 3, 'Infinity', 'mid', 'sdxl',
            '{"{}"}', '1', '0.1.0', 'w', 'h', 'cpu', '1.0', 'CPUExecutionProvider', '{"{}"}', '{new string('a', 64)}', 'b', 'http://b',
            64, 64, 10, now());
        """);

    private Task ExecuteAsync(string sql) => PostgresQueries.ExecuteAsync(_database.ConnectionString, sql);

    private Task<List<string>> QueryStringsAsync(string sql) => PostgresQueries.StringsAsync(_database.ConnectionString, sql);
}
