# Berth's container image. Two stages: the build runs the same scripts as `make run` / `make test`
# (scripts/tools.sh installs the toolchain, then `cargo leptos build --release`), and the runtime stage holds
# only the server binary and the site folder, running as a non-root user.

# ---- build ------------------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
# Node/npm: scripts/tools.sh installs wasm-opt from npm's binaryen. Python: the scripts' free-port helper.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Tools first, keyed on the pinned versions only, so source changes reuse this layer.
COPY scripts/ scripts/
COPY Cargo.lock rust-toolchain.toml ./
RUN bash scripts/tools.sh build

COPY . .
RUN bash -c 'source scripts/env.sh && build_release'

# ---- runtime ----------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 berth \
    && useradd --system --uid 10001 --gid berth --home-dir /nonexistent --shell /usr/sbin/nologin berth \
    && mkdir -p /data && chown berth:berth /data

COPY --from=build /src/target/release/berth-server /app/berth-server
COPY --from=build /src/target/site /app/site

# In a container the server must listen on all interfaces; the defaults elsewhere are loopback only.
ENV BERTH_LISTEN=0.0.0.0:3000 \
    BERTH_SITE_ROOT=/app/site \
    BERTH_DATABASE__URL=sqlite:///data/berth.db \
    BERTH_LOG__FORMAT=json

USER 10001:10001
WORKDIR /data
# 3000: the portal; 9090: /metrics once BERTH_METRICS__LISTEN=0.0.0.0:9090 is set (deploy/ sets it).
EXPOSE 3000 9090
VOLUME ["/data"]
ENTRYPOINT ["/app/berth-server"]
