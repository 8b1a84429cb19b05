# syntax=docker/dockerfile:1
# The worker images (src/Seg.Worker): one render slot per GPU, or CPU slots.
#
#   docker build -f docker/worker.Dockerfile --target worker-gpu --build-arg VERSION=0.1.0 -t seg-farm/worker:0.1.0 .
#   docker build -f docker/worker.Dockerfile --target worker-cpu --build-arg VERSION=0.1.0 -t seg-farm/worker:0.1.0-cpu .
#
# Both run as the non-root user app (1654), serve /healthz and /readyz on 8080, read models from /models (mount
# them read-only) and keep the tiny model and SEG-patched UNets in /var/cache/seg (mount a writable volume).
# Nothing is downloaded at run time. Settings come from the environment (src/Seg.Worker/README.md).

# Base images, pinned to exact versions.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0.401-noble
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0.12-noble
# Microsoft.ML.OnnxRuntime.Gpu.Linux 1.31's CUDA provider (libonnxruntime_providers_cuda.so) is built for CUDA 13:
# it links libcudart.so.13, libcublas.so.13, libcublasLt.so.13 and libcurand.so.10, and loads cuDNN 9
# (libcudnn.so.9). This CUDA 13 + cuDNN 9 runtime image carries exactly those; the host needs only the NVIDIA driver
# (>= 580 for CUDA 13) and the NVIDIA container toolkit.
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

FROM ${SDK_IMAGE} AS build
ARG VERSION=0.1.0
WORKDIR /src
COPY . .
# scripts/publish.sh is also what the test suite runs (tests/Seg.Deploy.Tests), so image and tests build alike.
RUN --mount=type=cache,id=seg-nuget,target=/root/.nuget/packages \
    bash scripts/publish.sh --version "${VERSION}" worker /out/worker-gpu \
    && bash scripts/publish.sh --version "${VERSION}" --cpu-only worker /out/worker-cpu

# Only a source of the ASP.NET Core runtime for the CUDA image (the worker is an ASP.NET Core app for its probes).
FROM ${RUNTIME_IMAGE} AS dotnet-runtime

# CPU worker, for clusters without GPUs: the ASP.NET Core runtime image, ONNX Runtime's CPU provider only.
FROM ${RUNTIME_IMAGE} AS worker-cpu
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE_URL=unknown
ARG RUNTIME_IMAGE
LABEL org.opencontainers.image.title="Seg farm worker (CPU)" \
      org.opencontainers.image.description="Seg farm render worker: the SEG SDXL ONNX pipeline on CPU slots" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_ENVIRONMENT=Production \
    DOTNET_NOLOGO=1 \
    Worker__ModelRoot=/models \
    Worker__CacheFolder=/var/cache/seg \
    Worker__Devices__0=cpu
RUN mkdir -p /models /var/cache/seg && chown 1654:1654 /var/cache/seg
WORKDIR /app
COPY --from=build --chown=root:root /out/worker-cpu/ /app/
COPY --chown=root:root --chmod=755 docker/healthcheck.sh /usr/local/bin/seg-healthcheck
COPY --chown=root:root --chmod=755 docker/worker-entrypoint.sh /usr/local/bin/seg-worker-entrypoint
USER 1654
VOLUME ["/var/cache/seg"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["/usr/local/bin/seg-healthcheck", "/healthz"]
ENTRYPOINT ["/usr/local/bin/seg-worker-entrypoint"]

# GPU worker (the default target): CUDA 13 + cuDNN 9 with the ASP.NET Core 10 runtime copied in.
FROM ${CUDA_IMAGE} AS worker-gpu
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE_URL=unknown
ARG CUDA_IMAGE
LABEL org.opencontainers.image.title="Seg farm worker (GPU)" \
      org.opencontainers.image.description="Seg farm render worker: the SEG SDXL ONNX pipeline on CUDA GPUs, one render slot per GPU" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${CUDA_IMAGE}"
# What the .NET runtime needs on Ubuntu 24.04 (as Microsoft's runtime-deps image installs it), at build time only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu74 libssl3t64 tzdata zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1654 app \
    && useradd --uid 1654 --gid 1654 --no-create-home --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /models /var/cache/seg \
    && chown 1654:1654 /var/cache/seg
COPY --from=dotnet-runtime /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_ROOT=/usr/share/dotnet \
    DOTNET_RUNNING_IN_CONTAINER=true \
    ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_ENVIRONMENT=Production \
    DOTNET_NOLOGO=1 \
    Worker__ModelRoot=/models \
    Worker__CacheFolder=/var/cache/seg \
    SEG_WORKER_DEVICES=all
WORKDIR /app
COPY --from=build --chown=root:root /out/worker-gpu/ /app/
COPY --chown=root:root --chmod=755 docker/healthcheck.sh /usr/local/bin/seg-healthcheck
COPY --chown=root:root --chmod=755 docker/worker-entrypoint.sh /usr/local/bin/seg-worker-entrypoint
USER 1654
VOLUME ["/var/cache/seg"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["/usr/local/bin/seg-healthcheck", "/healthz"]
ENTRYPOINT ["/usr/local/bin/seg-worker-entrypoint"]
