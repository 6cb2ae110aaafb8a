//! What /proc says of a broker process the benchmarks started: CPU seconds and peak RSS.

/// User plus system CPU seconds of process `pid` (fields 14 and 15 of /proc/PID/stat, at
/// Linux's 100 ticks a second); 0 when it cannot be read.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// The peak resident set of process `pid` (VmHWM), as /proc prints it (`21388 kB`).
#[allow(dead_code)] // not every bench reports it
pub(crate) fn peak_rss(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map_or_else(|| "unknown".to_string(), |v| v.trim().to_string())
}
