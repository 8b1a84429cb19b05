using System.Text.RegularExpressions;
using Seg.Testing;

namespace Seg.Parameters.Tests;

/// <summary>
/// "Each default and limit literal appears once in src/": the definitions hold them, nothing else spells them.
/// Comments and generated migrations do not count. Literals that are too common to be anything's in particular
/// (30, 64, 1000) or that name a thing of their own elsewhere (<c>"mid"</c>, a layer group the layer parser reads)
/// are looked for in the files that declare or copy render parameters; the distinctive ones everywhere.
/// </summary>
public partial class SourceLiteralsTests
{
    private static readonly string Src = Path.Combine(TestPaths.RepoRoot, "src");

    /// <summary>The files that declare, copy, check or show render parameters.</summary>
    private static readonly string[] ParameterFiles =
    [
        "Seg.Contracts/**", "Seg.Parameters/**",
        "Seg.Pipeline/RenderRequest.cs", "Seg.Pipeline/RenderRequestException.cs", "Seg.Pipeline/RenderProvenance.cs",
        "Seg.Pipeline/SdxlPipeline.cs", "Seg.Pipeline/Schedulers/SchedulerFactory.cs", "Seg.Pipeline/Models/SdxlModelFolder.cs",
        "Seg.Storage/Entities/ImageRecord.cs", "Seg.Worker/Rendering/**", "Seg.Worker/Tasks/TaskImageStore.cs",
        "Seg.Worker/Consumers/RenderTaskConsumer.cs", "Seg.Cli/Commands/RenderCommand.cs",
    ];

    [Theory]
    [InlineData("9999")]
    [InlineData("4096")]
    [InlineData("\"inf\"")]
    [InlineData("\"euler\"")]
    [InlineData("\"euler_a\"")]
    [InlineData("\"ddim\"")]
    [InlineData("\"dpmpp_2m\"")]
    [InlineData("\"dpmpp_2m_karras\"")]
    public void A_distinctive_default_or_limit_stands_once_in_src_in_the_definitions(string literal)
    {
        var places = Places(SourceFiles(), literal);

        var place = Assert.Single(places);
        Assert.StartsWith("Seg.Parameters/", place, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("5.0")]
    [InlineData("3.0")]
    [InlineData("64")]
    [InlineData("1000")]
    [InlineData("1024")]
    [InlineData("\"mid\"")]
    public void A_common_default_or_limit_stands_once_among_the_parameter_files_in_the_definitions(string literal)
    {
        var files = SourceFiles().Where(file => ParameterFiles.Any(pattern => Matches(file, pattern))).ToList();
        Assert.Contains(files, file => file.StartsWith("Seg.Cli/", StringComparison.Ordinal));

        var place = Assert.Single(Places(files, literal));
        Assert.StartsWith("Seg.Parameters/", place, StringComparison.Ordinal);
    }

    [Fact]
    public void The_search_finds_a_literal_where_it_is()
    {
        // The test above must not pass because it reads nothing.
        Assert.Contains(Places(SourceFiles(), "\"seg_task\""), place => place.StartsWith("Seg.Worker/Rendering/TaskPngText.cs", StringComparison.Ordinal));
    }

    /// <summary>Every C# file of src/, relative, without build output and generated migrations.</summary>
    private static List<string> SourceFiles() =>
        [.. Directory.EnumerateFiles(Src, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Src, path).Replace('\\', '/'))
            .Where(path => !path.Contains("/obj/", StringComparison.Ordinal) && !path.Contains("/bin/", StringComparison.Ordinal)
                && !path.Contains("/Migrations/", StringComparison.Ordinal))];

    /// <summary>Where <paramref name="literal"/> stands as a token outside comments, as <c>file:line</c>.</summary>
    private static List<string> Places(IEnumerable<string> files, string literal)
    {
        // A number is a token of its own (not part of 10000, 1.5 or 3.05); examples such as "count: 1000" and
        // "1024x1024" in rule texts are not limits.
        var token = new Regex($@"(?<![\w.]){Regex.Escape(literal)}(?![\w.])(?<!count: {Regex.Escape(literal)})(?!x\d)(?<!\dx{Regex.Escape(literal)})");
        var places = new List<string>();
        foreach (var file in files)
        {
            var lines = WithoutComments(File.ReadAllText(Path.Combine(Src, file))).Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                if (token.IsMatch(lines[i]))
                {
                    places.Add($"{file}:{i + 1}");
                }
            }
        }
        return places;
    }

    private static string WithoutComments(string code) => LineComment().Replace(BlockComment().Replace(code, ""), "");

    private static bool Matches(string file, string pattern) =>
        pattern.EndsWith("/**", StringComparison.Ordinal) ? file.StartsWith(pattern[..^2], StringComparison.Ordinal) : file == pattern;

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    [GeneratedRegex(@"(?<!:)//.*$", RegexOptions.Multiline)]
    private static partial Regex LineComment();
}
