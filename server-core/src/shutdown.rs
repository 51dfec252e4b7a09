//! The process signals that ask for a clean stop.

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM; elsewhere than Unix, on Ctrl-C. If the
/// handlers cannot be installed it never resolves (the process then stops the hard way), so
/// a caller racing it against other work is never woken for nothing.
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot install signal handlers");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
