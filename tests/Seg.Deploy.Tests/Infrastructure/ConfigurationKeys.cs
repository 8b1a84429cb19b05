using System.Collections;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// The environment variable names a program reads, derived from its code so that the list cannot fall behind it:
/// <list type="bullet">
/// <item>every settable property of every options class in the program's assemblies (the program and the Seg.*
/// assemblies it references) that declares its configuration section (<c>const string Section</c> or
/// <c>SectionName</c>), nested records and lists included (a list index is any number);</item>
/// <item>the public <c>...Key</c> constants that name configuration keys (<c>ConnectionStrings:Sqlite</c>,
/// <c>Storage:Provider</c>);</item>
/// <item>every key of the <c>appsettings.json</c> the program ships with, and any key of the <c>Logging</c> section
/// (log categories are free names);</item>
/// <item>the <c>SEG_*</c> variables that the image's entry-point scripts read;</item>
/// <item>the few variables the .NET host and the OpenTelemetry SDK themselves read (<see cref="HostVariables"/>).</item>
/// </list>
/// A name that matches none of these is a misspelling (or a setting in the wrong program): the program would ignore it.
/// </summary>
public sealed partial class ConfigurationKeys
{
    /// <summary>
    /// Read by the .NET host, ASP.NET Core and the OpenTelemetry SDK rather than bound to our options (their documented
    /// names; ours set only these).
    /// </summary>
    public static readonly IReadOnlySet<string> HostVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "DOTNET_ROOT",
        "DOTNET_RUNNING_IN_CONTAINER", "DOTNET_NOLOGO", "DOTNET_CLI_TELEMETRY_OPTOUT",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
    };

    private const string AnyIndex = "#";
    private const string AnyName = "*";
    private readonly List<string[]> _patterns = [];
    private readonly HashSet<string> _variables = new(HostVariables, StringComparer.Ordinal);

    private ConfigurationKeys(string program) => Program = program;

    public string Program { get; }

    /// <summary>The keys a program reads.</summary>
    /// <param name="program">Its assembly name, e.g. <c>Seg.Worker</c>.</param>
    /// <param name="appsettingsFile">The appsettings.json it ships with.</param>
    /// <param name="entryScripts">Scripts of the image that read environment variables before the program starts.</param>
    public static ConfigurationKeys For(string program, string appsettingsFile, IEnumerable<string> entryScripts)
    {
        var keys = new ConfigurationKeys(program);
        var entry = Assembly.Load(new AssemblyName(program));
        var assemblies = new[] { entry }.Concat(entry.GetReferencedAssemblies()
            .Where(a => a.Name!.StartsWith("Seg.", StringComparison.Ordinal)).Select(Assembly.Load)).ToList();
        foreach (var type in assemblies.SelectMany(LoadableTypes).Where(t => t.IsClass || t.IsValueType))
        {
            var section = type.GetField("Section", BindingFlags.Public | BindingFlags.Static) ?? type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static);
            if (section is { IsLiteral: true } && section.GetRawConstantValue() is string name)
            {
                keys.AddProperties(type, [name], depth: 0);
            }
            foreach (var constant in type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.Name.EndsWith("Key", StringComparison.Ordinal)))
            {
                if (constant.GetRawConstantValue() is string key && ConfigurationKey().IsMatch(key))
                {
                    keys._patterns.Add(key.Split(':'));
                }
            }
        }

        var appsettings = JsonNode.Parse(File.ReadAllText(appsettingsFile))!;
        keys.AddJsonKeys(appsettings, []);
        keys._patterns.Add(["Logging", AnyName]);

        foreach (var script in entryScripts)
        {
            foreach (Match variable in ScriptVariable().Matches(File.ReadAllText(script)))
            {
                keys._variables.Add(variable.Groups[1].Value);
            }
        }
        return keys;
    }

    /// <summary>Whether the program reads the environment variable <paramref name="name"/>.</summary>
    public bool Reads(string name)
    {
        if (_variables.Contains(name))
        {
            return true;
        }
        var segments = name.Split("__");
        return _patterns.Any(pattern => Matches(pattern, segments));
    }

    /// <summary>The names among <paramref name="names"/> that the program does not read.</summary>
    public List<string> Unread(IEnumerable<string> names) => names.Where(n => !Reads(n)).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>Every key pattern, for failure messages (<c>#</c>: any index, <c>*</c>: any name).</summary>
    public IEnumerable<string> Describe() => _patterns.Select(p => string.Join("__", p)).Concat(_variables).Order(StringComparer.Ordinal);

    private static bool Matches(string[] pattern, string[] segments)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == AnyName)
            {
                return segments.Length > i;
            }
            if (i >= segments.Length)
            {
                return false;
            }
            var matches = pattern[i] == AnyIndex
                ? segments[i].Length > 0 && segments[i].All(char.IsAsciiDigit)
                : string.Equals(pattern[i], segments[i], StringComparison.OrdinalIgnoreCase);
            if (!matches)
            {
                return false;
            }
        }
        return segments.Length == pattern.Length;
    }

    private void AddProperties(Type type, string[] prefix, int depth)
    {
        if (depth > 8)
        {
            throw new InvalidOperationException($"options nested too deep at {string.Join(':', prefix)}");
        }
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            // Only what the binder can set; computed properties (ResolvedDevices, SlotCount) are no settings.
            if (property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0)
            {
                continue;
            }
            AddValue(property.PropertyType, [.. prefix, property.Name], depth);
        }
    }

    private void AddValue(Type type, string[] key, int depth)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsScalar(type))
        {
            _patterns.Add(key);
        }
        else if (DictionaryValue(type) is { } value)
        {
            AddValue(value, [.. key, AnyName], depth + 1);
        }
        else if (ElementType(type) is { } element)
        {
            AddValue(element, [.. key, AnyIndex], depth + 1);
        }
        else
        {
            AddProperties(type, key, depth + 1);
        }
    }

    private void AddJsonKeys(JsonNode node, string[] prefix)
    {
        switch (node)
        {
            case JsonObject map:
                foreach (var (name, value) in map)
                {
                    AddJsonKeys(value!, [.. prefix, name]);
                }
                break;
            case JsonArray list:
                foreach (var item in list)
                {
                    AddJsonKeys(item!, [.. prefix, AnyIndex]);
                }
                break;
            default:
                _patterns.Add(prefix);
                break;
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(Uri)
        || type == typeof(TimeSpan) || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid);

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : typeof(IEnumerable).IsAssignableFrom(type) ? type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0]
        : null;

    private static Type? DictionaryValue(Type type) => type.GetInterfaces().Append(type)
        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>))?.GetGenericArguments()[1];

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }

    [GeneratedRegex("^[A-Za-z]+(:[A-Za-z]+)+$")]
    private static partial Regex ConfigurationKey();

    [GeneratedRegex(@"\$\{?(SEG_[A-Z0-9_]+)")]
    private static partial Regex ScriptVariable();
}
