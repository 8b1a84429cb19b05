using Microsoft.AspNetCore.Http.HttpResults;
using Seg.Contracts.Sweeps;

namespace Seg.Coordinator.Apis;

/// <summary>The API's error responses: ProblemDetails, with field-level errors for bad input.</summary>
internal static class ApiProblems
{
    /// <summary>Largest page a list returns.</summary>
    public const int MaxPageSize = 200;

    /// <summary>A 400 whose <c>errors</c> map each field to the rules it breaks, as Contracts phrases them.</summary>
    public static ValidationProblem Invalid(IEnumerable<ValidationError> errors, string title) =>
        TypedResults.ValidationProblem(ByField(errors), title: title);

    /// <summary>A 422 with the same field-level <c>errors</c> map: the request is well formed but cannot be carried out.</summary>
    public static ProblemHttpResult Unprocessable(IEnumerable<ValidationError> errors, string title) =>
        TypedResults.Problem(new HttpValidationProblemDetails(ByField(errors)) { Status = StatusCodes.Status422UnprocessableEntity, Title = title });

    private static Dictionary<string, string[]> ByField(IEnumerable<ValidationError> errors) =>
        errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Rule).ToArray());

    /// <summary>404 for a sweep that does not exist.</summary>
    public static ProblemHttpResult SweepNotFound(Guid sweepId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Sweep not found", detail: $"no sweep has id {sweepId}");

    /// <summary>Highest page number accepted: far beyond any list, and small enough that the offset fits a 32-bit int.</summary>
    public const int MaxPage = 1_000_000;

    /// <summary>
    /// Checks <c>page</c> (1 .. <see cref="MaxPage"/>) and <c>pageSize</c> (1 .. <see cref="MaxPageSize"/>), as sent (text,
    /// so that <c>page=abc</c> gets an error naming the parameter instead of a bare 400), filling in the defaults.
    /// </summary>
    public static List<ValidationError> CheckPaging(string? page, string? pageSize, out int pageNumber, out int size)
    {
        var errors = new List<ValidationError>();
        pageNumber = WholeNumber(errors, "page", page, 1, 1, MaxPage);
        size = WholeNumber(errors, "pageSize", pageSize, 50, 1, MaxPageSize);
        return errors;
    }

    private static int WholeNumber(List<ValidationError> errors, string name, string? text, int fallback, int min, int max)
    {
        if (text is null)
        {
            return fallback;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && value >= min && value <= max)
        {
            return value;
        }

        var shown = text.Length > 40 ? text[..40] + "..." : text;
        errors.Add(new ValidationError(name, $"must be a whole number between {min} and {max} (got '{shown}')"));
        return fallback;
    }
}
