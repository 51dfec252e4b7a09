//! CPU time, resident memory and open file descriptors, read from `/proc`.
//!
//! In-process, the regions run on threads named [`SERVER_THREAD`]; the CPU time of those
//! threads is the server's, every other thread's is the generator's.

use std::time::{Duration, Instant};

/// Name prefix of the threads that run the in-process regions.
pub const SERVER_THREAD: &str = "mrs-server";

/// Clock ticks per second of `/proc/*/stat` (`CLK_TCK`, 100 on Linux).
const TICKS: f64 = 100.0;

/// `(comm, utime + stime in ticks)` from the text of a `stat` file.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    // Fields after the comm: state is field 3; utime and stime are fields 14 and 15.
    let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU ticks of this process's threads: `(server threads, all other threads)`.
pub fn self_split() -> (u64, u64) {
    let (mut server, mut other) = (0, 0);
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for task in dir.flatten() {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            if let Some((comm, t)) = parse_stat(&stat) {
                if comm.starts_with(SERVER_THREAD) {
                    server += t;
                } else {
                    other += t;
                }
            }
        }
    }
    (server, other)
}

/// CPU ticks of a whole process.
pub fn process_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0, |(_, t)| t)
}

/// CPU seconds (user + system) of a whole process so far.
pub fn process_seconds(pid: u32) -> f64 {
    process_ticks(pid) as f64 / TICKS
}

/// Resident memory of a process (`"self"` or a pid), in bytes.
pub fn rss_bytes(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Open file descriptors of a process (`"self"` or a pid).
pub fn fd_count(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Who is measured: the in-process server threads, or a server process; plus Redis.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// The server's pid when it runs in another process; `None` when in-process.
    pub server_pid: Option<u32>,
    /// The private redis-server's pid, if any.
    pub redis_pid: Option<u32>,
}

/// CPU readings at one instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    at: Instant,
    server: u64,
    generator: u64,
    redis: u64,
}

/// CPU used between two marks, in cores (1.0 = one core busy the whole time).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuUse {
    /// Regions (in-process threads, or the server process).
    pub server_cores: f64,
    /// The load generator (this process, less the in-process server threads).
    pub generator_cores: f64,
    /// The private redis-server.
    pub redis_cores: f64,
    /// CPU time the server used between the marks, seconds (`server_cores` × the window).
    pub server_seconds: f64,
}

impl Probe {
    /// Read every counter now.
    pub fn mark(&self) -> CpuMark {
        let (in_proc_server, rest) = self_split();
        let server = match self.server_pid {
            Some(pid) => process_ticks(pid),
            None => in_proc_server,
        };
        CpuMark {
            at: Instant::now(),
            server,
            generator: rest,
            redis: self.redis_pid.map_or(0, process_ticks),
        }
    }

    /// Resident memory of the server (for in-process: the whole process).
    pub fn server_rss(&self) -> u64 {
        match self.server_pid {
            Some(pid) => rss_bytes(&pid.to_string()),
            None => rss_bytes("self"),
        }
    }
}

impl CpuMark {
    /// CPU used from `self` to `later`.
    pub fn until(&self, later: &CpuMark) -> CpuUse {
        let secs = later
            .at
            .duration_since(self.at)
            .max(Duration::from_millis(1));
        let cores = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / TICKS / secs.as_secs_f64();
        CpuUse {
            server_seconds: later.server.saturating_sub(self.server) as f64 / TICKS,
            server_cores: cores(self.server, later.server),
            generator_cores: cores(self.generator, later.generator),
            redis_cores: cores(self.redis, later.redis),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A comm with spaces and parentheses does not shift the fields.
    #[test]
    fn parses_stat_with_odd_comm() {
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14";
        assert_eq!(parse_stat(stat), Some(("a (b) c".into(), 11 + 12)));
    }
}
