# ccbridge's images. The default target, `production`, holds the five services, the console and
# the `gdpr` command, nothing else; `dev` adds genesys-sim and devstack, for development only.
#   docker build -t ccbridge:0.1.0 .                 (production)
#   docker build --target dev -t ccbridge-dev:0.1.0 .
# Run one service: docker run ccbridge:0.1.0 interaction-pairing   (each binary's default is `serve`)

# --- build ---------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The registry and target directories are build caches, so a rebuild compiles only what changed.
COPY Cargo.toml Cargo.lock rustfmt.toml clippy.toml ./
COPY crates crates
COPY migrations migrations
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p interaction-pairing -p comm-history-writer -p genesys-gateway -p result-ingest \
        -p gdpr-orchestrator -p ccbridge-console \
 && mkdir -p /out \
 && cp target/release/interaction-pairing target/release/comm-history-writer \
       target/release/genesys-gateway target/release/result-ingest \
       target/release/gdpr-orchestrator target/release/gdpr target/release/console /out/

# The development tools, built apart so that the production image cannot pick them up.
FROM build AS build-dev
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p genesys-sim -p devstack \
 && mkdir -p /out-dev \
 && cp target/release/genesys-sim target/release/devstack /out-dev/

# --- run -----------------------------------------------------------------------------------------
# distroless base: glibc, libssl (libpq and TLS need it) and CA certificates; no shell, no package
# manager; runs as the unprivileged user 65532.
FROM gcr.io/distroless/base-debian12:nonroot AS dev
COPY --from=build /out/ /usr/local/bin/
COPY --from=build-dev /out-dev/ /usr/local/bin/
USER 65532:65532
ENV APP__APPLICATION__HOST=0.0.0.0
ENTRYPOINT []
CMD ["devstack", "--host", "0.0.0.0"]

FROM gcr.io/distroless/base-debian12:nonroot AS production
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
# The services log JSON to stdout and keep no local state; /tmp is the only place they write
# (mount an emptyDir there when the root file system is read-only).
ENV APP__APPLICATION__HOST=0.0.0.0
ENTRYPOINT []
CMD ["interaction-pairing"]
