namespace Seg.Contracts.Messages;

/// <summary>
/// Event from a worker: an upload found the image container missing and created it again (the blob store restarted
/// empty, or the container was deleted), so the images stored before are gone. The coordinator answers with a blob
/// audit that renders those tasks again. MassTransit names it <c>urn:message:Seg.Contracts.Messages:BlobContainerRecreated</c>:
/// keep the namespace and name.
/// </summary>
/// <param name="WorkerId">The worker whose upload created the container.</param>
/// <param name="ContainerName">The container (or folder) it created.</param>
/// <param name="Timestamp">When it created it.</param>
public sealed record BlobContainerRecreated(string WorkerId, string ContainerName, DateTimeOffset Timestamp);
