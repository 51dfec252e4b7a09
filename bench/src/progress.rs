//! The progress line of a load run on stderr: `label: 3.2s  published …  delivered …/…`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A one-line progress report on stderr, redrawn in place on a terminal.
pub struct Progress {
    label: String,
    tty: bool,
    last: std::cell::Cell<Option<Instant>>,
}

impl Progress {
    /// A report for the run `label`.
    pub fn new(label: &str) -> Self {
        Progress {
            label: label.into(),
            tty: std::io::stderr().is_terminal(),
            last: std::cell::Cell::new(None),
        }
    }

    /// Redraw the line (on a terminal, at most every 500 ms; elsewhere never).
    pub fn show(&self, started: Instant, sent: u64, delivered: u64, expected: u64) {
        let due = self
            .last
            .get()
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500));
        if !self.tty || !due {
            return;
        }
        self.last.set(Some(Instant::now()));
        eprint!(
            "\r{}",
            line(&self.label, started, sent, delivered, expected)
        );
        let _ = std::io::stderr().flush();
    }

    /// The last line, printed everywhere.
    pub fn done(&self, started: Instant, sent: u64, delivered: u64, expected: u64) {
        let cr = if self.tty { "\r" } else { "" };
        eprintln!(
            "{cr}{}",
            line(&self.label, started, sent, delivered, expected)
        );
    }
}

fn line(label: &str, started: Instant, sent: u64, delivered: u64, expected: u64) -> String {
    format!(
        "{label}: {:>5.1}s  published {sent:>7}  delivered {delivered:>9}/{expected:<9}",
        started.elapsed().as_secs_f64()
    )
}
