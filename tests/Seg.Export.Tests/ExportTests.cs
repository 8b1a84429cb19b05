using System.Security.Cryptography;
using System.Text.Json;
using ParquetSharp;
using Seg.Parameters;

namespace Seg.Export.Tests;

/// <summary>
/// <c>seg export</c> on a real standalone run folder, read back by readers that are not ours: Python's <c>tarfile</c> and
/// <c>json</c> (WebDataset), ParquetSharp (Arrow C++; the writer is Parquet.Net), <c>metadata.jsonl</c> line by line
/// against the database.
/// </summary>
[Collection(RunFolderCollection.Name)]
public sealed class ExportTests(RunFolder run)
{
    /// <summary>Reads every shard of the manifest with tarfile, checks the manifest's sha256 and counts, prints the samples.</summary>
    private const string WebDatasetReader = """
        import hashlib, json, sys, tarfile
        folder = sys.argv[1]
        manifest = json.load(open(folder + "/manifest.json"))
        samples = {}
        for shard in manifest["shards"]:
            path = folder + "/" + shard["file"]
            data = open(path, "rb").read()
            assert hashlib.sha256(data).hexdigest() == shard["sha256"], shard["file"] + ": sha256 differs from the manifest"
            assert len(data) == shard["bytes"], shard["file"] + ": size differs from the manifest"
            with tarfile.open(path) as tar:
                members = tar.getmembers()
                assert len(members) == 2 * shard["count"], shard["file"] + ": count differs from the manifest"
                for json_member, png_member in zip(members[0::2], members[1::2]):
                    key = json_member.name[:-len(".json")]
                    assert json_member.name == key + ".json" and png_member.name == key + ".png", (json_member.name, png_member.name)
                    meta = json.loads(tar.extractfile(json_member).read())
                    png = tar.extractfile(png_member).read()
                    assert png[:8] == b"\x89PNG\r\n\x1a\n"
                    samples[key] = {"shard": shard["file"], "seed": meta["seed"], "sigma": repr(meta["seg_blur_sigma"]),
                                    "sigma_is_inf": meta["seg_blur_sigma"] == float("inf"), "png_sha256": hashlib.sha256(png).hexdigest(),
                                    "task_id": meta["task_id"], "prompt": meta["prompt"]}
        print(json.dumps({"count": manifest["count"], "samples": samples}))
        """;

    [Fact]
    public void WebDataset_shards_read_with_python_tarfile_and_json_match_the_database()
    {
        var output = run.NewOutput();
        var (exit, stdout, stderr) = run.Seg("export", run.Folder, "--format", "webdataset", "--out", output, "--shard-size", "10", "--name", "cats");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Equal(["cats-000000.tar", "cats-000001.tar", "cats-000002.tar"], Directory.GetFiles(output, "*.tar").Select(Path.GetFileName).Order());

        var result = Python(WebDatasetReader, output);
        Assert.Equal(RunFolder.Images, result.GetProperty("count").GetInt32());
        var samples = result.GetProperty("samples");
        Assert.Equal(RunFolder.Images, samples.EnumerateObject().Count());
        foreach (var (image, _) in run.Rows)
        {
            var sample = samples.GetProperty(image.TaskId.ToString("N"));
            Assert.Equal(image.TaskId.ToString("D"), sample.GetProperty("task_id").GetString());
            Assert.Equal(image.Parameters.Seed, sample.GetProperty("seed").GetInt64());
            Assert.Equal(image.Parameters.Prompt, sample.GetProperty("prompt").GetString());
            Assert.Equal(double.IsPositiveInfinity(image.Parameters.SegBlurSigma), sample.GetProperty("sigma_is_inf").GetBoolean());
            Assert.Equal(image.ImageSha256, sample.GetProperty("png_sha256").GetString());
        }
        Assert.Equal(12, samples.EnumerateObject().Count(s => s.Value.GetProperty("sigma").GetString() == "inf"));
        // Keys in task order: the first shard holds the first ten tasks.
        Assert.Equal(run.Rows.Take(10).Select(r => r.Image.TaskId.ToString("N")).Order(),
            samples.EnumerateObject().Where(s => s.Value.GetProperty("shard").GetString() == "cats-000000.tar").Select(s => s.Name).Order());
    }

    [Fact]
    public void Parquet_read_with_ParquetSharp_has_the_schema_the_rows_the_png_bytes_and_infinite_sigma()
    {
        var output = run.NewOutput();
        var (exit, stdout, stderr) = run.Seg("export", run.Folder, "--format", "parquet", "--out", output, "--row-group-size", "10");
        Assert.True(exit == 0, stdout + stderr);
        var file = Assert.Single(Directory.GetFiles(output, "*.parquet"));

        using var reader = new ParquetFileReader(file);
        var metadata = reader.FileMetaData;
        Assert.Equal(RunFolder.Images, metadata.NumRows);
        Assert.Equal(3, metadata.NumRowGroups); // 10 + 10 + 4: bounded row groups
        var schema = metadata.Schema;
        var columns = Enumerable.Range(0, schema.NumColumns).ToDictionary(i => schema.Column(i).Path.ToDotString(), i => i);
        Assert.Equal(0, columns["image.bytes"]);
        Assert.Equal(1, columns["image.path"]);
        Assert.Equal(PhysicalType.Int64, schema.Column(columns["seed"]).PhysicalType);
        Assert.Equal(PhysicalType.Double, schema.Column(columns["seg_blur_sigma"]).PhysicalType);
        Assert.Equal(PhysicalType.Int64, schema.Column(columns["created_at"]).PhysicalType);
        // Every parameter and provenance field is a column, the model's name and hashes, versions, device, provider, timings.
        foreach (var name in ParameterDefinitions.All.Select(p => p.Name).Concat(["model_file_hashes", "software_version", "patch_version", "onnx_runtime_version",
                     "device", "execution_provider", "device_seconds", "wait_for_slot_seconds", "image_sha256"]))
        {
            Assert.True(columns.ContainsKey(name), $"no column {name}");
        }
        var features = JsonDocument.Parse(metadata.KeyValueMetadata["huggingface"]).RootElement.GetProperty("info").GetProperty("features");
        Assert.Equal("Image", features.GetProperty("image").GetProperty("_type").GetString());
        Assert.Equal("int64", features.GetProperty("seed").GetProperty("dtype").GetString());
        Assert.Equal("float64", features.GetProperty("seg_blur_sigma").GetProperty("dtype").GetString());

        var rows = new List<(byte[] Png, string Path, long Seed, double Sigma, string TaskId)>();
        for (var g = 0; g < metadata.NumRowGroups; g++)
        {
            using var group = reader.RowGroup(g);
            var n = checked((int)group.MetaData.NumRows);
            var pngs = group.Column(0).LogicalReader<byte[]?>().ReadAll(n);
            var paths = group.Column(1).LogicalReader<string?>().ReadAll(n);
            var seeds = group.Column(columns["seed"]).LogicalReader<long>().ReadAll(n);
            var sigmas = group.Column(columns["seg_blur_sigma"]).LogicalReader<double>().ReadAll(n);
            var ids = group.Column(columns["task_id"]).LogicalReader<string>().ReadAll(n);
            rows.AddRange(Enumerable.Range(0, n).Select(i => (pngs[i]!, paths[i]!, seeds[i], sigmas[i], ids[i])));
        }
        Assert.Equal(RunFolder.Images, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var (image, _) = run.Rows[i];
            Assert.Equal(image.TaskId.ToString("D"), rows[i].TaskId);
            Assert.Equal(run.Png(image.TaskId), rows[i].Png);
            Assert.Equal($"{image.TaskId:N}.png", rows[i].Path);
            Assert.Equal(image.Parameters.Seed, rows[i].Seed);
            Assert.Equal(image.Parameters.SegBlurSigma, rows[i].Sigma);
        }
        Assert.Equal(12, rows.Count(r => double.IsPositiveInfinity(r.Sigma)));
        Assert.Equal(12, rows.Count(r => r.Sigma == 2));
    }

    [Fact]
    public void ImageFolder_metadata_jsonl_parsed_line_by_line_matches_the_database_split_by_sigma()
    {
        var output = run.NewOutput();
        var (exit, stdout, stderr) = run.Seg("export", run.Folder, "--format", "imagefolder", "--out", output, "--split-by", "seg_blur_sigma");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Equal(["seg_blur_sigma=2", "seg_blur_sigma=inf"], Directory.GetDirectories(output).Select(Path.GetFileName).Order());

        var byId = run.Rows.ToDictionary(r => r.Image.TaskId);
        var seen = 0;
        foreach (var folder in Directory.GetDirectories(output))
        {
            foreach (var line in File.ReadLines(Path.Combine(folder, "metadata.jsonl")))
            {
                using var json = JsonDocument.Parse(line);
                var row = json.RootElement;
                var (image, taskIndex) = byId[row.GetProperty("task_id").GetGuid()];
                var png = File.ReadAllBytes(Path.Combine(folder, row.GetProperty("file_name").GetString()!));
                Assert.Equal(image.ImageSha256, Convert.ToHexStringLower(SHA256.HashData(png)));
                Assert.Equal(taskIndex, row.GetProperty("task_index").GetInt32());
                foreach (var parameter in ParameterDefinitions.All)
                {
                    var expected = parameter.ReadValue(image.Parameters);
                    var value = row.GetProperty(parameter.Name);
                    object? actual = value.ValueKind == JsonValueKind.Null ? null : expected switch
                    {
                        string => value.GetString(),
                        int => value.GetInt32(),
                        long => value.GetInt64(),
                        _ => double.Parse(value.GetRawText(), System.Globalization.CultureInfo.InvariantCulture),
                    };
                    Assert.Equal(expected, actual);
                }
                Assert.Equal(image.ExecutionProvider, row.GetProperty("execution_provider").GetString());
                Assert.Equal($"seg_blur_sigma={SegBlurSigma.Format(image.Parameters.SegBlurSigma)}", Path.GetFileName(folder));
                seen++;
            }
        }
        Assert.Equal(RunFolder.Images, seen);
        // Python's json reads the infinite blur as float('inf') and every line as one object.
        var python = Python("""
            import json, sys
            lines = [json.loads(l) for l in open(sys.argv[1] + "/seg_blur_sigma=inf/metadata.jsonl")]
            print(json.dumps({"n": len(lines), "inf": all(l["seg_blur_sigma"] == float("inf") for l in lines)}))
            """, output);
        Assert.Equal(12, python.GetProperty("n").GetInt32());
        Assert.True(python.GetProperty("inf").GetBoolean());
    }

    [Theory]
    [InlineData("imagefolder")]
    [InlineData("webdataset")]
    [InlineData("parquet")]
    public void The_same_sweep_exported_twice_gives_identical_bytes(string format)
    {
        var first = run.NewOutput();
        var second = run.NewOutput();
        Assert.Equal(0, run.Seg("export", run.Folder, "--format", format, "--out", first, "--shard-size", "7").ExitCode);
        Assert.Equal(0, run.Seg("export", run.Folder, "--format", format, "--out", second, "--shard-size", "7").ExitCode);
        var files = Files(first);
        Assert.Equal(files, Files(second));
        Assert.True(files.Count > 1);
        foreach (var file in files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file)), File.ReadAllBytes(Path.Combine(second, file)));
        }
    }

    [Theory]
    [InlineData("webdataset")]
    [InlineData("parquet")]
    [InlineData("imagefolder")]
    public void Resume_writes_only_the_images_not_exported_yet(string format)
    {
        var output = run.NewOutput();
        var first = run.Seg("export", run.Folder, "--format", format, "--out", output, "--where", "seg_scale=0");
        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
        Assert.Contains("exported 12 images (0 exported before)", first.Stdout);
        // An interrupted run's leftovers: a partial shard, and (imagefolder) a metadata line cut off half way.
        File.WriteAllText(Path.Combine(output, ".x-000009.tar.partial"), "half");
        if (format == "imagefolder")
        {
            File.AppendAllText(Path.Combine(output, "metadata.jsonl"), "{\"file_name\":\"abc");
        }

        var refused = run.Seg("export", run.Folder, "--format", format, "--out", output);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--out: folder", refused.Stderr);
        Assert.Contains("is not empty; add --resume", refused.Stderr);

        var second = run.Seg("export", run.Folder, "--format", format, "--out", output, "--resume");
        Assert.True(second.ExitCode == 0, second.Stdout + second.Stderr);
        Assert.Contains("exported 12 images (12 exported before)", second.Stdout);
        Assert.Empty(Directory.GetFiles(output, "*.partial", SearchOption.AllDirectories));
        var third = run.Seg("export", run.Folder, "--format", format, "--out", output, "--resume");
        Assert.Contains("exported 0 images (24 exported before)", third.Stdout);

        var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "manifest.json"))).RootElement;
        Assert.Equal(RunFolder.Images, manifest.GetProperty("count").GetInt32());
        if (format == "imagefolder")
        {
            var lines = File.ReadAllLines(Path.Combine(output, "metadata.jsonl"));
            Assert.Equal(RunFolder.Images, lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("key").GetString()).Distinct().Count());
            Assert.Equal(RunFolder.Images, lines.Length);
        }
        else
        {
            Assert.Equal([12, 12], manifest.GetProperty("shards").EnumerateArray().Select(s => s.GetProperty("count").GetInt32()));
        }
    }

    [Theory]
    [InlineData("--format:bogus", "--format: unknown format 'bogus'; use imagefolder, webdataset, parquet")]
    [InlineData("--sweep:00000000-0000-0000-0000-000000000001", "sweep: no sweep has id 00000000-0000-0000-0000-000000000001")]
    [InlineData("--where:cfg=3", "--where: unknown parameter 'cfg'")]
    [InlineData("--where:seg_scale=high", "--where: seg_scale must be a number (got 'high')")]
    [InlineData("--status:done", "--status: unknown status 'done'")]
    [InlineData("--split-by:seed", "--split-by: only the imagefolder format splits into folders")]
    [InlineData("--shard-size:0", "--shard-size: must be a number of images (1000) or of bytes with a unit")]
    public void Bad_input_is_refused_with_an_error_naming_the_field_and_nothing_is_written(string option, string error)
    {
        var output = run.NewOutput();
        var (name, value) = (option[..option.IndexOf(':', StringComparison.Ordinal)], option[(option.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        string[] args = name == "--format"
            ? ["export", run.Folder, "--format", value, "--out", output]
            : ["export", run.Folder, "--format", "webdataset", "--out", output, name, value];
        var (exit, _, stderr) = run.Seg(args);
        Assert.Equal(2, exit);
        Assert.Contains(error, stderr);
        Assert.True(!Directory.Exists(output) || Directory.GetFileSystemEntries(output).Length == 0, "the refused export wrote files");
    }

    [Theory]
    [InlineData("succeeded", "seg_blur_sigma=inf", 12)]
    [InlineData("succeeded,failed", "seg_scale=3", 12)]
    [InlineData("failed", "seg_scale=3", 0)]
    public void Status_and_where_filters_choose_the_images(string status, string where, int expected)
    {
        var output = run.NewOutput();
        var (exit, stdout, stderr) = run.Seg("export", run.Folder, "--format", "imagefolder", "--out", output, "--status", status, "--where", where);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains($"exported {expected} images", stdout);
        var (name, value) = (where.Split('=')[0], where.Split('=')[1]);
        var lines = expected == 0 ? [] : File.ReadAllLines(Path.Combine(output, "metadata.jsonl"));
        Assert.Equal(expected, lines.Length);
        Assert.All(lines, l => Assert.Equal(value == "inf" ? "1e999" : value, JsonDocument.Parse(l).RootElement.GetProperty(name).GetRawText()));
    }

    [Fact]
    public void A_folder_that_is_no_run_folder_is_refused()
    {
        var (exit, _, stderr) = run.Seg("export", run.Root, "--format", "parquet", "--out", run.NewOutput());
        Assert.Equal(2, exit);
        Assert.Contains("is not a standalone run folder (it has no provenance.db", stderr);
    }

    private static List<string> Files(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).Order(StringComparer.Ordinal).ToList();

    private JsonElement Python(string script, params string[] args)
    {
        var path = Path.Combine(run.Root, $"check-{Guid.NewGuid():N}.py");
        File.WriteAllText(path, script, System.Text.Encoding.UTF8);
        var (exit, stdout, stderr) = run.Run("python3", [path, .. args]);
        Assert.True(exit == 0, $"python3 failed: {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }
}
