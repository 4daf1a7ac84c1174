# syntax=docker/dockerfile:1
# The `pipeline` binary, built in release mode on the official Swift image and run on a slim
# Debian with only the two C libraries it links (librdkafka, libpq). Both stages are bookworm,
# so the runtime's librdkafka1 and libpq5 are the versions the build linked against.
# docker-compose.yml uses it for the worker and the generator; `docker build -t pipeline .` alone works too.

FROM swift:6.2-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer stays cached while only our sources change.
COPY Package.swift ./
RUN swift package resolve
COPY . .
# The Swift runtime and Foundation linked in: the runtime image needs no Swift.
RUN swift build -c release --product pipeline --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/pipeline" /out/pipeline

FROM debian:bookworm-slim
# curl: the compose healthcheck asks the worker's /readyz.
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libpq5 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /home/pipeline --create-home pipeline
COPY --from=build /out/pipeline /usr/local/bin/pipeline
USER pipeline
WORKDIR /home/pipeline
# /metrics, /healthz, /readyz (the worker's --metrics-port).
ENV PIPELINE_METRICS_HOST=0.0.0.0 PIPELINE_METRICS_PORT=9464
EXPOSE 9464
ENTRYPOINT ["pipeline"]
CMD ["worker"]
