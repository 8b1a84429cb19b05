namespace Seg.Export;

/// <summary>An export that cannot be done as asked: the message names the field or file and the rule.</summary>
/// <param name="message">What is wrong, starting with the field or file.</param>
public sealed class ExportException(string message) : Exception(message);
