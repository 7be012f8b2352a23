# syntax=docker/dockerfile:1
# The seictl image: the CLI and the node sidecar (`seictl serve`), a static (musl) build on
# a distroless base, run as a non-root user. It is the operator's default sidecar image.
# Build from the repository root with any OCI builder:
#   docker build -f images/seictl.Dockerfile -t ghcr.io/sei-k8s/seictl:0.1.0 .
# Reproducible: locked dependencies, no timestamps or paths in the binary, pinned bases
# (pass digests through the ARGs to pin them byte for byte).
ARG RUST_IMAGE=docker.io/library/rust:1.95.0-alpine3.22
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${RUST_IMAGE} AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
ENV CARGO_INCREMENTAL=0 \
    SOURCE_DATE_EPOCH=0 \
    RUSTFLAGS="-C strip=symbols -C target-feature=+crt-static --remap-path-prefix=/src=. --remap-path-prefix=/usr/local/cargo=cargo"
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p seictl --bin seictl \
    && install -D -m 0755 target/release/seictl /out/seictl

FROM ${BASE_IMAGE}
COPY --from=build /out/seictl /usr/local/bin/seictl
# The same binary answers as the kubectl plugin under this name.
COPY --from=build /out/seictl /usr/local/bin/kubectl-sei
USER 65532:65532
EXPOSE 7777
ENTRYPOINT ["/usr/local/bin/seictl"]
CMD ["serve"]
