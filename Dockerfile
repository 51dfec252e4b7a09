# Multi-stage image of `multiregion` (the headless regional servers) with the browser UI.
#
#   docker build -t multiregion .
#   docker compose up          # Redis 7 + AS :4000, US :4001, EU :4002 (docker-compose.yml)
#
# Stage 1 builds the server and the WASM UI from source (needs the network for crates.io);
# stage 2 is a slim runtime with only the binary and the built UI.

FROM rust:1-bookworm AS build
RUN rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
# ui/build.sh installs the pinned wasm-bindgen CLI, then builds the UI into ui/dist.
RUN bash ui/build.sh \
 && cargo build --release --locked -p multiregion \
 && strip target/release/multiregion

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin multiregion
COPY --from=build /src/target/release/multiregion /usr/local/bin/multiregion
COPY --from=build /src/ui/dist /usr/share/multiregion/ui
USER multiregion
EXPOSE 4000 4001 4002
ENTRYPOINT ["multiregion"]
# Inside a container, 127.0.0.1 is unreachable from the host: bind every interface and
# require the token (MULTIREGION_TOKEN) for anything that is published.
CMD ["serve", "--bind", "0.0.0.0", "--ui-dir", "/usr/share/multiregion/ui"]
