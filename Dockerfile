# Three stages: plan the dependency build, cache it, then build the binary.
FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin plusone

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/plusone plusone
WORKDIR /var/lib/plusone
COPY --from=builder /app/target/release/plusone /usr/local/bin/plusone
USER plusone
# Listen on all interfaces inside the container. Set PLUSONE__DATABASE__URL to a
# postgres:// URL for several replicas; the default is SQLite under /var/lib/plusone/data.
ENV PLUSONE__HTTP__ADDR=0.0.0.0:8080 \
    PLUSONE__METRICS__ADDR=0.0.0.0:9090
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/plusone"]
CMD ["serve"]
