using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using ParquetSharp;

namespace Seg.Farm.Tests;

/// <summary>
/// <c>GET /api/sweeps/{id}/export</c> streamed from a real coordinator process over PostgreSQL and Azurite, after a real
/// worker (fake render) made the images; read by Python's tarfile, by ParquetSharp, and by <c>seg export --farm</c>.
/// </summary>
public class ExportFarmTests
{
    private const string Sweep = """
        name: farm export
        model: tiny
        prompts: ["a cat", "a dog"]
        seeds: [7, 8]
        seg_scale: [3]
        seg_blur_sigma: [inf, 2]
        steps: [2]
        size: ["64x64"]
        """;

    [Fact]
    public async Task A_farm_sweep_streams_as_webdataset_and_parquet_and_seg_export_farm_writes_an_imagefolder()
    {
        await using var farm = await Farm.StartAsync(workers: 1, workerSettings: new Dictionary<string, string> { ["Worker__RenderMode"] = "Fake" });
        var id = await farm.SubmitAsync(Sweep);
        var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(3));
        Assert.True(status == "succeeded", farm.Logs());
        var hashes = (await farm.QueryAsync<string>("select task_id::text || ' ' || image_sha256 from images"))
            .Select(l => l.Split(' ')).ToDictionary(p => Guid.Parse(p[0]).ToString("N"), p => p[1]);
        Assert.Equal(8, hashes.Count);
        var folder = Directory.CreateTempSubdirectory("seg-farm-export-").FullName;
        try
        {
            // WebDataset: one tar, streamed; Python's tarfile reads every sample and its JSON.
            var tar = Path.Combine(folder, "sweep.tar");
            using (var response = await farm.Http.GetAsync($"api/sweeps/{id}/export?format=webdataset", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("application/x-tar", response.Content.Headers.ContentType?.MediaType);
                Assert.Null(response.Content.Headers.ContentLength); // streamed, not buffered
                await using var file = File.Create(tar);
                var copy = await Record.ExceptionAsync(() => response.Content.CopyToAsync(file));
                Assert.True(copy is null, $"{copy}\n{farm.Logs()}");
            }
            var python = Run("python3", "-c", """
                import hashlib, json, sys, tarfile
                out = {}
                with tarfile.open(sys.argv[1]) as tar:
                    for member in tar.getmembers():
                        key, ext = member.name.split(".", 1)
                        data = tar.extractfile(member).read()
                        if ext == "png": out.setdefault(key, {})["sha256"] = hashlib.sha256(data).hexdigest()
                        else: out.setdefault(key, {})["inf"] = json.loads(data)["seg_blur_sigma"] == float("inf")
                print(json.dumps(out))
                """, tar);
            var samples = JsonDocument.Parse(python).RootElement;
            Assert.Equal(hashes.Keys.Order(), samples.EnumerateObject().Select(s => s.Name).Order());
            Assert.All(samples.EnumerateObject(), s => Assert.Equal(hashes[s.Name], s.Value.GetProperty("sha256").GetString()));
            Assert.Equal(4, samples.EnumerateObject().Count(s => s.Value.GetProperty("inf").GetBoolean()));

            // Parquet, filtered on the farm: the infinite blur only; ParquetSharp reads the rows and the PNG bytes.
            var parquet = Path.Combine(folder, "sweep.parquet");
            using (var response = await farm.Http.GetAsync($"api/sweeps/{id}/export?format=parquet&where=seg_blur_sigma=inf", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await using var file = File.Create(parquet);
                var copy = await Record.ExceptionAsync(() => response.Content.CopyToAsync(file));
                Assert.True(copy is null, $"{copy}\n{farm.Logs()}");
            }
            using (var reader = new ParquetFileReader(parquet))
            {
                Assert.Equal(4, reader.FileMetaData.NumRows);
                using var group = reader.RowGroup(0);
                var schema = reader.FileMetaData.Schema;
                var column = Enumerable.Range(0, schema.NumColumns).ToDictionary(i => schema.Column(i).Path.ToDotString());
                var pngs = group.Column(column["image.bytes"]).LogicalReader<byte[]?>().ReadAll(4);
                var keys = group.Column(column["key"]).LogicalReader<string>().ReadAll(4);
                var sigmas = group.Column(column["seg_blur_sigma"]).LogicalReader<double>().ReadAll(4);
                Assert.All(sigmas, s => Assert.True(double.IsPositiveInfinity(s)));
                for (var i = 0; i < 4; i++)
                {
                    Assert.Equal(hashes[keys[i]], Convert.ToHexStringLower(SHA256.HashData(pngs[i]!)));
                }
            }

            // Clear errors: an unknown format, a sweep that does not exist.
            using (var bad = await farm.Http.GetAsync($"api/sweeps/{id}/export?format=zip"))
            {
                Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
                Assert.Contains("unknown format 'zip'", await bad.Content.ReadAsStringAsync());
            }
            using (var missing = await farm.Http.GetAsync($"api/sweeps/{Guid.NewGuid()}/export?format=parquet"))
            {
                Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            }

            // seg export --farm: the CLI reads the stream and writes any format, here an ImageFolder.
            var output = Path.Combine(folder, "imagefolder");
            var seg = Path.Combine(FarmProcess.RepoRoot, "src", "Seg.Cli", "bin", FarmProcess.Configuration, "net10.0", "seg.dll");
            Run("dotnet", seg, "export", "--farm", farm.Http.BaseAddress!.ToString(), "--sweep", id.ToString(), "--format", "imagefolder", "--out", output);
            var lines = File.ReadAllLines(Path.Combine(output, "metadata.jsonl"));
            Assert.Equal(8, lines.Length);
            foreach (var line in lines)
            {
                var row = JsonDocument.Parse(line).RootElement;
                var png = await File.ReadAllBytesAsync(Path.Combine(output, row.GetProperty("file_name").GetString()!));
                Assert.Equal(hashes[row.GetProperty("key").GetString()!], Convert.ToHexStringLower(SHA256.HashData(png)));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["SEG_API_KEY"] = TestApiKeys.Reader;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{program} did not finish");
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed: {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }
}
