# syntax=docker/dockerfile:1
# The coordinator image: REST API, dispatcher and progress (src/Seg.Coordinator), with the `seg` CLI beside it.
#
#   docker build -f docker/coordinator.Dockerfile --build-arg VERSION=0.1.0 -t seg-farm/coordinator:0.1.0 .
#
# Runs as the non-root user app (1654), listens on 8080 (/healthz, /readyz, the API), applies the database
# migrations at start. Settings come from the environment at run time (README "Deploy"); none are baked in.

# Base images, pinned to exact versions (the .NET 10 images are Ubuntu 24.04 "noble").
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0.401-noble
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0.12-noble

FROM ${SDK_IMAGE} AS build
ARG VERSION=0.1.0
WORKDIR /src
COPY . .
# scripts/publish.sh is also what the test suite runs (tests/Seg.Deploy.Tests), so image and tests build alike.
# The CLI leaves out ONNX Runtime's CUDA libraries: the coordinator has no GPU; the worker image has them.
RUN --mount=type=cache,id=seg-nuget,target=/root/.nuget/packages \
    bash scripts/publish.sh --version "${VERSION}" coordinator /out/coordinator \
    && bash scripts/publish.sh --version "${VERSION}" --cpu-only cli /out/cli

FROM ${RUNTIME_IMAGE} AS coordinator
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE_URL=unknown
ARG RUNTIME_IMAGE
LABEL org.opencontainers.image.title="Seg farm coordinator" \
      org.opencontainers.image.description="Seg farm coordinator: REST API, sweep expansion, dispatcher and progress for SEG SDXL render sweeps, with the seg CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_ENVIRONMENT=Production \
    DOTNET_NOLOGO=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /app
COPY --from=build --chown=root:root /out/coordinator/ /app/
COPY --from=build --chown=root:root /out/cli/ /opt/seg-cli/
COPY --chown=root:root --chmod=755 docker/healthcheck.sh /usr/local/bin/seg-healthcheck
RUN ln -s /opt/seg-cli/seg /usr/local/bin/seg
# The runtime image's non-root user (APP_UID=1654), by number so that Kubernetes' runAsNonRoot can check it.
USER 1654
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["/usr/local/bin/seg-healthcheck", "/healthz"]
ENTRYPOINT ["dotnet", "Seg.Coordinator.dll"]
