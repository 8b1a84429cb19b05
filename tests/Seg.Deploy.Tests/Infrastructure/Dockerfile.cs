using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>One instruction of a Dockerfile: its keyword (upper case), its arguments, the line it starts on.</summary>
public sealed record DockerInstruction(string Keyword, string Arguments, int Line);

/// <summary>A COPY: where from (<c>--from</c> stage, or the build context), what, to where.</summary>
public sealed record DockerCopy(string? FromStage, IReadOnlyList<string> Sources, string Destination);

/// <summary>
/// A Dockerfile read the way the tests need it, to run what an image would run without a Docker engine: its stages,
/// their arguments, environment, working folder, user, copies, RUN commands, entry point and health check. Written
/// here because no .NET library parses Dockerfiles; it supports the instructions our Dockerfiles use and fails on
/// others.
/// </summary>
public sealed partial class Dockerfile
{
    private static readonly HashSet<string> Known =
        ["FROM", "ARG", "ENV", "LABEL", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "VOLUME", "HEALTHCHECK", "ENTRYPOINT", "CMD"];

    private Dockerfile(string path, IReadOnlyDictionary<string, string> globalArgs, IReadOnlyList<DockerStage> stages)
    {
        FilePath = path;
        GlobalArgs = globalArgs;
        Stages = stages;
    }

    public string FilePath { get; }

    /// <summary>The ARGs before the first FROM, with their defaults.</summary>
    public IReadOnlyDictionary<string, string> GlobalArgs { get; }

    public IReadOnlyList<DockerStage> Stages { get; }

    public DockerStage Stage(string name) =>
        Stages.SingleOrDefault(s => s.Name == name) ?? throw new InvalidOperationException($"{FilePath} has no stage '{name}' (stages: {string.Join(", ", Stages.Select(s => s.Name))})");

    public static Dockerfile Load(string path)
    {
        var instructions = ReadInstructions(File.ReadAllLines(path), path);
        var globalArgs = new Dictionary<string, string>();
        var stages = new List<DockerStage>();
        DockerStage? stage = null;
        foreach (var instruction in instructions)
        {
            if (!Known.Contains(instruction.Keyword))
            {
                throw new NotSupportedException($"{path}:{instruction.Line}: {instruction.Keyword} is not supported by this reader");
            }
            if (instruction.Keyword == "FROM")
            {
                var parts = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var name = parts.Length == 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[2] : $"stage-{stages.Count}";
                var image = Expand(parts[0], globalArgs);
                stage = new DockerStage(name, image, stages.SingleOrDefault(s => s.Name == image), globalArgs);
                stages.Add(stage);
            }
            else if (stage is null)
            {
                if (instruction.Keyword != "ARG")
                {
                    throw new InvalidOperationException($"{path}:{instruction.Line}: {instruction.Keyword} before the first FROM");
                }
                var (name, value) = Assignment(instruction.Arguments);
                globalArgs[name] = value ?? "";
            }
            else
            {
                stage.Add(instruction);
            }
        }
        return new Dockerfile(path, globalArgs, stages);
    }

    /// <summary>Replaces <c>${NAME}</c> and <c>$NAME</c> by their values; unknown names become empty, as in Docker.</summary>
    public static string Expand(string text, IReadOnlyDictionary<string, string> values) =>
        Variable().Replace(text, m => values.GetValueOrDefault(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value, ""));

    /// <summary><c>NAME=VALUE</c> or <c>NAME</c> (no value).</summary>
    internal static (string Name, string? Value) Assignment(string text)
    {
        var equals = text.IndexOf('=');
        return equals < 0 ? (text.Trim(), null) : (text[..equals].Trim(), Unquote(text[(equals + 1)..].Trim()));
    }

    /// <summary>Splits <c>A=1 B="two words"</c> into assignments, honouring double quotes.</summary>
    internal static IEnumerable<(string Name, string Value)> Assignments(string text)
    {
        foreach (var token in Tokens(text))
        {
            var (name, value) = Assignment(token);
            yield return (name, value ?? throw new InvalidOperationException($"'{token}' is not NAME=VALUE"));
        }
    }

    /// <summary>Whitespace-separated tokens; double quotes keep spaces.</summary>
    internal static IEnumerable<string> Tokens(string text)
    {
        var token = new StringBuilder();
        var quoted = false;
        foreach (var c in text)
        {
            if (c == '"')
            {
                quoted = !quoted;
                token.Append(c);
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (token.Length > 0)
                {
                    yield return token.ToString();
                    token.Clear();
                }
            }
            else
            {
                token.Append(c);
            }
        }
        if (token.Length > 0)
        {
            yield return token.ToString();
        }
    }

    /// <summary>Leading <c>--name=value</c> flags and the rest.</summary>
    internal static (IReadOnlyDictionary<string, string> Flags, string Remainder) Flags(string arguments)
    {
        var flags = new Dictionary<string, string>();
        var rest = arguments.TrimStart();
        while (rest.StartsWith("--", StringComparison.Ordinal))
        {
            var end = rest.IndexOfAny([' ', '\t']);
            var flag = end < 0 ? rest : rest[..end];
            var (name, value) = Assignment(flag[2..]);
            flags[name] = value ?? "";
            rest = end < 0 ? "" : rest[end..].TrimStart();
        }
        return (flags, rest);
    }

    internal static string[] JsonArray(string text, string what) =>
        JsonSerializer.Deserialize<string[]>(text) ?? throw new InvalidOperationException($"{what}: not a JSON array: {text}");

    private static string Unquote(string value) => value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;

    /// <summary>Logical lines: comments dropped (a <c># syntax=</c> directive too), backslash continuations joined.</summary>
    private static List<DockerInstruction> ReadInstructions(string[] lines, string path)
    {
        var instructions = new List<DockerInstruction>();
        var text = new StringBuilder();
        var startLine = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.StartsWith('#') || (line.Length == 0 && text.Length == 0))
            {
                continue;
            }
            if (text.Length == 0)
            {
                startLine = i + 1;
            }
            var continued = line.EndsWith('\\');
            text.Append(continued ? line[..^1] : line).Append(' ');
            if (!continued)
            {
                var logical = text.ToString().Trim();
                text.Clear();
                var space = logical.IndexOf(' ');
                if (space < 0)
                {
                    throw new InvalidOperationException($"{path}:{startLine}: instruction without arguments: {logical}");
                }
                instructions.Add(new DockerInstruction(logical[..space].ToUpperInvariant(), logical[(space + 1)..].Trim(), startLine));
            }
        }
        return instructions;
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Variable();
}

/// <summary>One stage of a <see cref="Dockerfile"/>, with what it inherits from a base stage.</summary>
public sealed class DockerStage
{
    private readonly IReadOnlyDictionary<string, string> _globalArgs;
    private readonly Dictionary<string, string> _args = [];
    private readonly Dictionary<string, string> _environment;
    private readonly Dictionary<string, string> _labels = [];
    private readonly List<DockerInstruction> _instructions = [];
    private readonly List<DockerCopy> _copies = [];
    private readonly List<string> _runs = [];

    internal DockerStage(string name, string from, DockerStage? baseStage, IReadOnlyDictionary<string, string> globalArgs)
    {
        Name = name;
        From = from;
        BaseStage = baseStage;
        _globalArgs = globalArgs;
        _environment = new Dictionary<string, string>(baseStage?.Environment ?? new Dictionary<string, string>());
        WorkingDirectory = baseStage?.WorkingDirectory ?? "/";
        User = baseStage?.User;
        Entrypoint = baseStage?.Entrypoint ?? [];
        HealthCheck = baseStage?.HealthCheck ?? [];
    }

    public string Name { get; }

    /// <summary>The image or stage it starts from, arguments expanded.</summary>
    public string From { get; }

    public DockerStage? BaseStage { get; }

    public IReadOnlyList<DockerInstruction> Instructions => _instructions;

    /// <summary>ARGs of this stage with their values (a redeclared global ARG takes the global default).</summary>
    public IReadOnlyDictionary<string, string> Args => _args;

    /// <summary>The ENV of this stage and the stages it is built on (not the base image's own).</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    public IReadOnlyDictionary<string, string> Labels => _labels;

    public string WorkingDirectory { get; private set; }

    public string? User { get; private set; }

    public IReadOnlyList<string> Entrypoint { get; private set; }

    /// <summary>The HEALTHCHECK's CMD (exec form); empty when none.</summary>
    public IReadOnlyList<string> HealthCheck { get; private set; }

    public IReadOnlyDictionary<string, string> HealthCheckOptions { get; private set; } = new Dictionary<string, string>();

    public IReadOnlyList<DockerCopy> Copies => _copies;

    /// <summary>RUN commands, flags (<c>--mount=...</c>) removed, variables not expanded.</summary>
    public IReadOnlyList<string> Runs => _runs;

    /// <summary>Expands the stage's ARG and ENV values in <paramref name="text"/>.</summary>
    public string Expand(string text) => Dockerfile.Expand(text, _args.Concat(_environment).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value));

    internal void Add(DockerInstruction instruction)
    {
        _instructions.Add(instruction);
        var arguments = instruction.Arguments;
        switch (instruction.Keyword)
        {
            case "ARG":
                var (name, value) = Dockerfile.Assignment(arguments);
                _args[name] = value ?? _globalArgs.GetValueOrDefault(name, "");
                break;
            case "ENV":
                foreach (var (key, text) in Dockerfile.Assignments(arguments))
                {
                    _environment[key] = Expand(text);
                }
                break;
            case "LABEL":
                foreach (var (key, text) in Dockerfile.Assignments(arguments))
                {
                    _labels[key] = Expand(text);
                }
                break;
            case "WORKDIR":
                WorkingDirectory = Expand(arguments);
                break;
            case "USER":
                User = Expand(arguments);
                break;
            case "ENTRYPOINT":
                Entrypoint = Dockerfile.JsonArray(arguments, $"{Name} ENTRYPOINT");
                break;
            case "HEALTHCHECK":
                var (options, command) = Dockerfile.Flags(arguments);
                HealthCheckOptions = options;
                HealthCheck = command.StartsWith("CMD ", StringComparison.Ordinal)
                    ? Dockerfile.JsonArray(command[4..], $"{Name} HEALTHCHECK")
                    : throw new InvalidOperationException($"{Name} HEALTHCHECK must be CMD [...] (exec form): {arguments}");
                break;
            case "COPY":
                var (flags, paths) = Dockerfile.Flags(arguments);
                var parts = paths.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Expand).ToArray();
                _copies.Add(new DockerCopy(flags.GetValueOrDefault("from"), parts[..^1], parts[^1]));
                break;
            case "RUN":
                _runs.Add(Dockerfile.Flags(arguments).Remainder);
                break;
        }
    }
}
