# Builds the sandesh binary and runs it on a slim Debian image.
#
#   docker build -t sandesh .
#   docker run -p 8080:8080 -v sandesh-data:/data sandesh serve --demo
#
# Configuration comes from SANDESH__SECTION__KEY variables or a file
# mounted at /etc/sandesh/sandesh.toml (pass --config).

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml diesel.toml ./
COPY src src
COPY grammar grammar
COPY locales locales
COPY migrations migrations
COPY templates templates
COPY static static
COPY benches benches
RUN cargo build --release --locked --bin sandesh

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data sandesh \
    && mkdir -p /data && chown sandesh /data
COPY --from=build /src/target/release/sandesh /usr/local/bin/sandesh
COPY scenarios /usr/share/sandesh/scenarios
USER sandesh
WORKDIR /data
ENV SANDESH__SERVER__HOST=0.0.0.0 \
    SANDESH__DATABASE__URL=/data/sandesh.db
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sandesh"]
CMD ["serve"]
