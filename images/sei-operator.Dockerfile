# syntax=docker/dockerfile:1
# The operator image: a static (musl) build of sei-operator on a distroless base, run as a
# non-root user. Build from the repository root with any OCI builder:
#   docker build -f images/sei-operator.Dockerfile -t ghcr.io/sei-k8s/sei-operator:0.1.0 .
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
    cargo build --release --locked -p sei-operator --bin sei-operator \
    && install -D -m 0755 target/release/sei-operator /out/sei-operator

FROM ${BASE_IMAGE}
COPY --from=build /out/sei-operator /sei-operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/sei-operator"]
