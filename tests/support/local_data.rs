//! A `ktui local` data directory (`XDG_DATA_HOME`) for tests, and the node processes started
//! in it. When it is dropped, passed or not, every process it started is killed: each pid the
//! state file ever named, and any other process whose command line names its temporary
//! directory (a node `up` started and lost track of). Shared by the CLI and console tests.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long `Drop` waits for killed processes to go.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// A data directory (`XDG_DATA_HOME`) and the node processes started in it.
pub struct LocalData {
    dir: tempfile::TempDir,
    /// Every pid `cluster.json` has named, for `Drop`.
    pids: RefCell<BTreeSet<u32>>,
}

impl LocalData {
    pub fn new() -> Self {
        LocalData {
            dir: tempfile::tempdir().expect("temp dir"),
            pids: RefCell::default(),
        }
    }

    /// The directory to set as `XDG_DATA_HOME`.
    #[allow(dead_code)] // used by the console's tests, not the CLI's
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `host:port` of every node, from the state file.
    pub fn bootstrap(&self) -> String {
        let state = self.state().expect("cluster.json");
        let ports: Vec<String> = state["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| format!("127.0.0.1:{}", n["kafka_port"]))
            .collect();
        ports.join(",")
    }

    pub fn cluster_dir(&self) -> PathBuf {
        self.dir.path().join("ktui").join("cluster")
    }

    /// Runs `ktui ARGS` with this data directory, then notes the pids of the state file.
    pub fn ktui(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_ktui"))
            .args(args)
            .env("XDG_DATA_HOME", self.dir.path())
            .env_remove("KTUI_CONFIG")
            .output()
            .expect("ktui runs");
        if let Some(state) = self.state() {
            self.pids
                .borrow_mut()
                .extend(pids(&state).into_iter().flatten());
        }
        out
    }

    /// `cluster.json`, if there is one.
    pub fn state(&self) -> Option<Value> {
        let text = fs::read_to_string(self.cluster_dir().join("cluster.json")).ok()?;
        Some(serde_json::from_str(&text).expect("cluster.json is JSON"))
    }

    /// Whether `pid` runs and is a process of this test (its command line names the directory).
    pub fn runs(&self, pid: u32) -> bool {
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        let marker = self.dir.path().display().to_string();
        !zombie
            && cmdline
                .windows(marker.len())
                .any(|w| w == marker.as_bytes())
    }
}

impl LocalData {
    /// Processes whose command line names this test's directory.
    pub fn processes(&self) -> Vec<u32> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| self.runs(*pid))
            .collect()
    }
}

impl Drop for LocalData {
    fn drop(&mut self) {
        let mut pids: Vec<u32> = self.pids.borrow().iter().copied().collect();
        pids.extend(self.processes());
        for pid in pids.iter().filter(|p| self.runs(**p)) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let deadline = Instant::now() + KILL_WAIT;
        while pids.iter().any(|p| self.runs(*p)) && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Each node's pid in the state file (`None` for a stopped node).
pub fn pids(state: &Value) -> Vec<Option<u32>> {
    state["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["pid"].as_u64().map(|p| u32::try_from(p).expect("pid")))
        .collect()
}
