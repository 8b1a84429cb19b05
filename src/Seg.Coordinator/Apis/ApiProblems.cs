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

    /// <summary>Checks <c>page</c> (from 1) and <c>pageSize</c> (1 .. <see cref="MaxPageSize"/>), filling in the defaults.</summary>
    public static List<ValidationError> CheckPaging(int? page, int? pageSize, out int pageNumber, out int size)
    {
        pageNumber = page ?? 1;
        size = pageSize ?? 50;
        var errors = new List<ValidationError>();
        if (pageNumber < 1)
        {
            errors.Add(new ValidationError("page", $"must be >= 1 (got {pageNumber})"));
        }

        if (size is < 1 or > MaxPageSize)
        {
            errors.Add(new ValidationError("pageSize", $"must be between 1 and {MaxPageSize} (got {size})"));
        }

        return errors;
    }
}
