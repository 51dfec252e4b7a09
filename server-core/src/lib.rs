//! Multi-Region Servers engine: regional WebSocket servers that share one global event log.
//!
//! Each region is an axum server with its own clients. Every event published in any region
//! goes into one totally ordered log in a [`broker`] (Redis, or the embedded in-process log),
//! and every region reads the whole log and fans each event out to all of its clients. So an
//! event fired in one region reaches the clients of every region, exactly once and in offset
//! order, and a client that reconnects resumes from its last offset.
//!
//! # Layout
//! - [`event`]: the event model (`NewEvent`, `StoredEvent`, offsets, clocks).
//! - [`broker`]: the `Broker` trait and its contract; `MemoryBroker`, `RedisBroker`.
//! - [`region`]: the regional server: router, WebSocket connection loop, fan-out hub.
//! - [`sim`]: the simulated WAN between a region and the broker (`/sim`); bypassed when off.
//! - [`serve`]: running several regions in one process.
//! - [`choice`]: choosing the broker (given Redis, local Redis, private redis-server,
//!   embedded), one chain for the CLI, the desktop and the bench.
//! - [`defaults`]: every default (ports, history, prefix, queues, timeouts) in one place.
//! - [`settings`]: the settings by concern (access, client limits, publish limits), each
//!   documented once, shared by the CLI's flags and file and by every embedder.
//! - [`shutdown`]: the signals that ask a process to stop cleanly.
//! - [`error`]: errors at the broker boundary.

pub mod broker;
pub mod choice;
pub mod defaults;
pub mod error;
pub mod event;
pub mod region;
pub mod serve;
pub mod settings;
pub mod shutdown;
pub mod sim;
