//! Load generator and floor measurements for the regional servers.
//!
//! The bench starts the regions itself (in-process with [`server_core::serve::RegionSet`], on a
//! runtime of their own so their CPU can be told apart from the generator's; or in a child
//! process for the capacity scenario, so memory per connection is the server's alone), or
//! targets running ones. It connects `C` clients per region, publishes from chosen regions at
//! a chosen rate with the send instant in each payload, and reports delivery (lost,
//! duplicated), end-to-end latency, throughput, CPU and memory, as ratios to two floors
//! measured in the same run: the **bare broadcast server** (the same clients at the same rate
//! against a fan-out with nothing but tokio and tokio-tungstenite), and a bare WebSocket echo
//! round trip plus a bare Redis hop.
//!
//! # Layout
//! - [`cli`]: commands and options; what each command runs.
//! - [`clock`]: the one process clock every timestamp is read from.
//! - [`procfs`]: CPU, RSS and file descriptors from `/proc`.
//! - [`target`]: where the clients connect ([`target::Target`]), and lists of targets.
//! - [`child`]: a server in a child process and its `ready` handshake with the bench.
//! - [`servers`]: the regions under test (in-process, child process, or `--target`), on the
//!   broker `server_core::choice` picks (a private Redis from `redis_process`).
//! - [`receiver`]: one receiving client: counts, checks order, records latency.
//! - [`receivers`]: the receiving clients of a run, connected and counted together.
//! - [`publisher`]: one publishing client, paced to a rate.
//! - [`load`]: one load run (connect, publish, drain, merge) and its result.
//! - [`progress`]: the progress line of a load run.
//! - [`stats`]: percentiles and the latency timeline.
//! - [`floor`]: the physical floor (WebSocket echo, Redis hop).
//! - [`bare`]: the bare broadcast server, the floor of fan-out (`bench bare-server`).
//! - [`measured`]: a run next to its floors (ratios to the bare server and to the floor).
//! - [`scenario`]: where the regions come from; the latency scenario.
//! - [`throughput`]: the throughput search, on the regions and on the bare server.
//! - [`capacity`]: idle connections until memory or descriptors run out.
//! - [`channels`]: publishes over 1 and 100 channels on one Redis and a Cluster, and
//!   fan-out to channels' followers against a broadcast; [`cluster`]: a private Cluster.
//! - [`smoke`]: the CI check (lost = 0, duplicated = 0).
//! - [`socketio`]: the Socket.IO scenario (the original system's clients on our regions),
//!   each step also on the bare Socket.IO floor (socketioxide's own broadcast, no broker).
//! - [`storm`]: a reconnect storm (clients joining and leaving, over and over).
//! - [`region_http`]: a region's `/metrics` counters and `/presence` members over HTTP.
//! - [`presence_storm`]: event latency with and without a storm, and no ghosts after it.
//! - [`plot`]: SVG plots (latency over time, CDF).

pub mod bare;
pub mod capacity;
pub mod channels;
pub mod child;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod floor;
pub mod load;
pub mod measured;
pub mod plot;
pub mod presence_storm;
pub mod procfs;
pub mod progress;
pub mod publisher;
pub mod receiver;
pub mod receivers;
pub mod region_http;
pub mod scenario;
pub mod servers;
pub mod smoke;
pub mod socketio;
pub mod stats;
pub mod storm;
pub mod target;
pub mod throughput;
