//! Browser UI of Multi-Region Servers: one pane per region and a sync timeline.
//!
//! A person opens it from any region's URL (or the desktop app), fires events in one region
//! and watches them arrive in every region, with each hop's time visible.
//!
//! # Layout
//! - [`state`]: `State`, `Action` and the pure reducer (unit-tested natively); per channel its
//!   log's epoch, per pane the channels it follows and where each feed stands.
//! - [`log`]: the events seen, by channel and offset, in persistent maps; gaps; the views
//!   over several channels (interleaved, each channel's order kept); latency percentiles.
//! - [`channels`]: the channels a pane follows and the names typed for them, checked with
//!   the protocol's rule (pure).
//! - [`presence`]: per channel who is online in every region (a list replaced by each fresh
//!   `presence` frame, joins and leaves idempotent), and the joins and leaves the timeline
//!   lists, each once with every pane's receipt (pure).
//! - [`sim`]: each region's simulated WAN link as the UI knows it, presets (pure).
//! - [`scenario`]: the scripted demos (a partition; chat rooms on channels) and the state
//!   machine that walks one (pure).
//! - [`clock`]: the page's clock against each region's, from timed `/health` exchanges (pure).
//! - [`axis`]: the timeline's time axis, fitted to the events shown (pure).
//! - [`outbox_counts`]: what a pane shows of its socket's outbox (pure data).
//! - [`refusal`]: why a region refuses this page (pure data).
//! - [`query`]: percent-encoding of URL query values (pure).
//! - [`socket`]: one region's WebSocket: reconnect with backoff, resume, paced publishing;
//!   `socket::frames` decodes what it receives and keeps the resume cursor (per channel);
//!   `socket::subscriptions` turns the pane's channels into the connect query's list and
//!   `subscribe`/`unsubscribe` frames; `socket::outbox` holds every publish until acked
//!   (retries with the same id, bounded); `socket::token_bucket` paces the sends;
//!   `socket::transport` runs the WebSocket in a worker that stamps each frame on arrival.
//! - [`context`]: the dispatcher and shared handles every component reaches by context.
//! - [`render_batcher`]: gathers the frames of all sockets so the reducer (and the render)
//!   runs once per tick.
//! - [`socket_registry`]: every pane's socket, for the scripted demo and the token form.
//! - [`sim_client`]: `GET`/`PUT /sim` on a region, outcomes reported to its pane.
//! - [`platform`]: the browser and the desktop shell (clock, fetch, Tauri commands).
//! - [`error`]: what fails at those edges, as typed data the state can hold (pure).
//! - [`hooks`]: `use_app` (the context), `use_region_socket`, `use_health`, `use_sim`, `use_regions`, `use_now`,
//!   `use_scenario` (performs the demo's steps), `use_broker_status` (desktop).
//! - [`components`]: one component per file; [`app::App`] is the root.
//! - [`format`]: how durations, ages and broker kinds read.
//! - [`export`]: the timeline as a JSON or CSV file, and a JSON export read back (pure).
//! - [`metrics`]: a region's `/metrics` read into the Settings panel's figures (pure).
//! - [`token`]: the region token, from the page URL or the token form, kept for the tab.
//!
//! # Dependencies
//! The pure modules (`state` and what it holds: `log`, `channels`, `presence`, `sim`, `scenario`, `clock`,
//! `export`, `outbox_counts`, `refusal`, `error`) import nothing effectful. The edges (`platform`,
//! `socket`, `render_batcher`, `socket_registry`, `sim_client`, `hooks`, `components`, `app`)
//! import the state, never the other way round; a type two modules share lives beneath both.

pub mod app;
pub mod axis;
pub mod channels;
pub mod clock;
pub mod components;
pub mod context;
pub mod error;
pub mod export;
pub mod format;
pub mod hooks;
pub mod log;
pub mod metrics;
pub mod outbox_counts;
pub mod platform;
pub mod presence;
pub mod query;
pub mod refusal;
pub mod render_batcher;
pub mod scenario;
pub mod sim;
pub mod sim_client;
pub mod socket;
pub mod socket_registry;
pub mod state;
pub mod token;
