# syntax=docker/dockerfile:1
#
# The seatkeeper image: one static (musl) binary on distroless static, run as
# distroless's `nonroot` user (uid/gid 65532). Nothing else is in it: no
# shell, no package manager. CA certificates and tzdata come from the base.
#
#   docker build -t ghcr.io/seatkeeper/seatkeeper:0.1.0 .
#
# Not built in CI: the CI machine has no container engine. The same build
# route (rustup's x86_64-unknown-linux-musl target, musl-gcc from Debian's
# musl-tools for ring's C code, `cargo build --release --locked --target
# x86_64-unknown-linux-musl`) was checked by hand outside Docker: it yields a
# static-pie binary that runs `seatkeeper demo` with an empty environment.

# Base images are pinned by digest (the tag alone can move). No registry is
# reachable where this was written, so the digests are the ones public
# repositories pin for the same tags (found by code search, Dec 2026):
#   rust:1.95-slim-bookworm  sha256:d7482085...4082, pinned identically by six
#     unrelated Dockerfiles (e.g. github.com/kubeply/rudolint's Dockerfile);
#   gcr.io/distroless/static-debian12:nonroot  sha256:afa5c872...f7ab, pinned
#     identically by three (e.g. github.com/chill-institute/chill-mcp's).
# Re-check before a release and when bumping the Rust version:
#   docker buildx imagetools inspect rust:1.95-slim-bookworm
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot
# The digest, not the tag, decides what is pulled: keep the tag equal to
# release.yml's RUST_VERSION for the reader.
FROM rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS build
# The build stage is thrown away: musl-tools follows the Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add x86_64-unknown-linux-musl
WORKDIR /src
# .dockerignore lets in only what the build reads.
COPY . .
# Debug line tables (Cargo.toml's release profile) are stripped: 16 MB instead
# of 80; function names stay for backtraces.
ENV CARGO_PROFILE_RELEASE_STRIP=debuginfo
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --target x86_64-unknown-linux-musl --bin seatkeeper \
    && install -D -m 0755 target/x86_64-unknown-linux-musl/release/seatkeeper /out/seatkeeper

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
LABEL org.opencontainers.image.title="seatkeeper" \
      org.opencontainers.image.description="GitOps for GitHub Copilot seats" \
      org.opencontainers.image.source="https://github.com/seatkeeper/seatkeeper" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
COPY --from=build /out/seatkeeper /usr/local/bin/seatkeeper
USER 65532:65532
# /metrics, /healthz, /readyz, /status and POST /webhook (`run --listen`).
EXPOSE 9090
ENTRYPOINT ["seatkeeper"]
