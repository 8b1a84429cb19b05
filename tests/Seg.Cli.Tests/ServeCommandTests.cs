using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Seg.Cli.Tests;

/// <summary><c>seg serve</c>: the farm's pages over a standalone run's folder, read only.</summary>
public class ServeCommandTests(SegProcess seg) : IClassFixture<SegProcess>
{
    [Fact]
    public async Task A_standalone_run_is_served_with_the_sweep_grid_and_image_pages_and_no_actions()
    {
        var sweep = Path.Combine(seg.WorkDir, "serve.yaml");
        File.WriteAllText(sweep, "name: served\nmodel: tiny\nprompts: [a cat]\nseeds: [1]\nseg_scale: [0, 3]\nseg_blur_sigma: [1, inf]\nsteps: [2]\nsize: [64x64]\n");
        var (code, stdout, stderr) = seg.Run("run", sweep, "--out", "served");
        Assert.True(code == 0, stderr + stdout);
        var folder = Path.Combine(seg.WorkDir, "served");
        Assert.Contains($"browse:     seg serve {folder}", stdout, StringComparison.Ordinal);
        var database = Path.Combine(folder, "provenance.db");
        var before = File.GetLastWriteTimeUtc(database);

        var port = FreePort();
        using var server = seg.Start("serve", folder, "--urls", $"http://127.0.0.1:{port}");
        // Drained as it runs, so that a full pipe never blocks the server.
        var output = server.StandardOutput.ReadToEndAsync();
        var errors = server.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            JsonElement sweeps = default;
            for (var attempt = 0; attempt < 120 && sweeps.ValueKind == JsonValueKind.Undefined; attempt++)
            {
                if (server.HasExited)
                {
                    Assert.Fail($"seg serve exited with {server.ExitCode}: {await errors}{await output}");
                }

                try
                {
                    sweeps = JsonDocument.Parse(await http.GetStringAsync("api/sweeps")).RootElement;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(500);
                }
            }

            Assert.True(sweeps.ValueKind == JsonValueKind.Object, "seg serve did not answer within a minute");
            var id = sweeps.GetProperty("items")[0].GetProperty("id").GetGuid();
            Assert.Contains("served", await http.GetStringAsync(""), StringComparison.Ordinal);
            var page = await http.GetStringAsync($"sweeps/{id}");
            Assert.Contains("100 %", page, StringComparison.Ordinal);
            Assert.DoesNotContain("id=\"actions\"", page, StringComparison.Ordinal);
            var grid = await http.GetStringAsync($"sweeps/{id}/grid?rows=seg_scale&cols=seg_blur_sigma");
            Assert.Equal(4, grid.Split("class=\"cell\"").Length - 1);
            var image = JsonDocument.Parse(await http.GetStringAsync($"api/sweeps/{id}/images")).RootElement.GetProperty("items")[0].GetProperty("taskId").GetGuid();
            Assert.Contains("data-field=\"image_sha256\"", await http.GetStringAsync($"images/{image}"), StringComparison.Ordinal);
            using var thumbnail = await http.GetAsync($"api/images/{image}/thumbnail");
            Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
            using var sheet = await http.GetAsync($"api/sweeps/{id}/grid.png");
            Assert.Equal(HttpStatusCode.OK, sheet.StatusCode);

            // Read only: no action passes, and neither the database nor the run's folder is written.
            using var pause = await http.PostAsync($"sweeps/{id}?handler=Action&command=pause", null);
            Assert.False(pause.IsSuccessStatusCode);
            Assert.Equal(before, File.GetLastWriteTimeUtc(database));
            Assert.Empty(Directory.GetDirectories(folder, "thumbnails", SearchOption.AllDirectories));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            await Task.WhenAll(output, errors);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
