//! Multi-Region Servers desktop app: the three regional servers run inside the app, and the
//! UI (`ui/dist`, bundled into the binary) shows them side by side in one window.
//!
//! On start the app chooses a broker (`server_core::choice`, the chain `multiregion serve`
//! uses too, plus a private redis-server from `redis_process`), starts the regions on the
//! app's tokio runtime ([`regions`]), and serves the UI's commands ([`cmd`]). On exit (window closed,
//! SIGINT/SIGTERM) it stops the regions and the private redis-server, if it started one.
//!
//! # Layout
//! - [`cmd`]: the commands the UI invokes (`regions`, `broker_status`, `set_redis_url`).
//! - [`regions`]: the running regions, switching their broker, stopping them.
//! - [`state`]: the state items managed by Tauri; the broker settings read at start.
//! - [`logging`]: `tracing` to stderr and the app's log file.
//! - [`error`]: command errors, sent to the UI as their message.

pub mod cmd;
pub mod error;
pub mod logging;
pub mod regions;
pub mod state;

use state::{AppRegions, Startup};
use tauri::{AppHandle, Manager, RunEvent, Runtime};

/// Build and run the app until its window closes.
pub fn run() {
    run_app(tauri::Builder::default())
        .build(tauri::generate_context!("../tauri.conf.json"))
        .expect("could not build the app window (is a display available?)")
        .run(on_event);
}

/// The app on any runtime (tests pass `tauri::test::mock_builder()`): commands, state, and
/// the start-up hook that chooses the broker and starts the regions.
pub fn run_app<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .invoke_handler(tauri::generate_handler![
            cmd::regions,
            cmd::broker_status,
            cmd::set_redis_url
        ])
        .setup(|app| {
            let log_file = logging::init(app.path().app_log_dir().ok().as_deref());
            tracing::info!(log_file = ?log_file, "multiregion-desktop starting");
            let startup = Startup::from_env();
            tracing::info!(mode = ?startup.mode, redis_url = ?startup.redis_url, "broker settings");
            let regions = AppRegions::default();
            // Taken before any command can run, so commands wait until the regions are up.
            let mut guard = regions
                .0
                .clone()
                .try_lock_owned()
                .expect("a new mutex is free");
            app.manage(regions);
            app.manage(startup.clone());
            tauri::async_runtime::spawn(async move {
                let chosen = startup.choose().await;
                tracing::info!(
                    kind = %chosen.status.kind,
                    url = ?chosen.status.url,
                    why = %chosen.status.description,
                    "broker chosen"
                );
                if let Err(e) = guard.start(chosen).await {
                    tracing::error!(error = %e, "regions did not start");
                }
            });
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                server_core::shutdown::signal().await;
                tracing::info!("signal received; exiting");
                handle.exit(0);
            });
            Ok(())
        })
}

/// On exit, stop the regions and the private redis-server before the process ends.
pub fn on_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    if let RunEvent::Exit = event {
        if let Some(regions) = app.try_state::<AppRegions>() {
            let regions = regions.inner().clone();
            tauri::async_runtime::block_on(async move { regions.0.lock().await.shutdown().await });
        }
        tracing::info!("multiregion-desktop exited cleanly");
    }
}
