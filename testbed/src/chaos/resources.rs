//! A region process's resources, read from `/proc/<pid>`: its resident set (`VmRSS` of
//! `status`) and its open file descriptors (the entries of `fd/`).

use super::history::{Ms, Sample};

/// Sample process `pid` now; `None` when it is gone.
pub fn sample(pid: u32, at: Ms) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample {
        at,
        pid,
        rss_kib,
        fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_set_and_descriptors() {
        let s = sample(std::process::id(), 5).unwrap();
        assert!(s.rss_kib > 0 && s.fds >= 3, "{s:?}");
        assert!(sample(u32::MAX, 0).is_none());
    }
}
