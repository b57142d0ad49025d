# syntax=docker/dockerfile:1
# One Dockerfile, two images: `--target api-service` and `--target color-worker`.
# Both binaries come out of the same builder stage, so a compose build compiles the workspace
# once. docker-compose.yml and the Kubernetes manifests use these target names.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# --- planner: reduce the workspace to its dependency graph (recipe.json) -------------------
FROM ${RUST_IMAGE} AS chef
# The turbojpeg crate builds libjpeg-turbo (statically linked) with cmake, its SIMD with nasm.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake nasm \
    && rm -rf /var/lib/apt/lists/*
# cargo-chef turns the workspace into a recipe of its dependencies, so the expensive
# dependency build is a layer that only changes when Cargo.toml/Cargo.lock do.
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- builder: dependencies first (cached), then our code ---------------------------------
FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
# migrations/ is embedded into api-service at compile time, hence the full copy.
RUN cargo build --release --locked --bin api-service --bin color-worker

# --- runtime base: small, certificates for TLS to managed services, no root ---------------
FROM ${RUNTIME_IMAGE} AS runtime
# The CA bundle is deliberately unpinned: a rebuild should pick up Debian's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid lets Kubernetes' runAsNonRoot check it without resolving names.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
USER 10001:10001
ENV APP__TELEMETRY__LOG_FORMAT=json

FROM runtime AS api-service
COPY --from=builder /app/target/release/api-service /usr/local/bin/api-service
EXPOSE 8080
# `healthcheck` GETs this process's own /healthz on localhost (APP__API__PORT) and exits 0/1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["api-service", "healthcheck"]
ENTRYPOINT ["api-service"]
CMD ["serve"]

FROM runtime AS color-worker
COPY --from=builder /app/target/release/color-worker /usr/local/bin/color-worker
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["color-worker", "healthcheck"]
ENTRYPOINT ["color-worker"]
CMD ["run"]
