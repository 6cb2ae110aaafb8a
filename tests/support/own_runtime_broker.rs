//! The workspace broker in-process on a free loopback port, from a temporary directory, on a
//! tokio runtime of its own so that tests using it are plain blocking code. Stopped on drop.
//! Shared by the test binaries through `#[path]`.

use ktui_broker::{BrokerConfig, RunningBroker};
use tempfile::TempDir;

/// A broker on its own runtime.
pub struct OwnRuntimeBroker {
    runtime: tokio::runtime::Runtime,
    running: Option<RunningBroker>,
    _dir: TempDir,
}

impl OwnRuntimeBroker {
    /// A fresh broker with extra config overrides.
    pub fn start(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut overrides = vec![
            ("log.dirs".to_string(), dir.path().display().to_string()),
            (
                "listeners".to_string(),
                "PLAINTEXT://127.0.0.1:0".to_string(),
            ),
        ];
        overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = BrokerConfig::from_properties("", &overrides).expect("config");
        let running = runtime
            .block_on(RunningBroker::start(config))
            .expect("broker starts");
        OwnRuntimeBroker {
            runtime,
            running: Some(running),
            _dir: dir,
        }
    }

    /// `127.0.0.1:port`.
    pub fn bootstrap(&self) -> String {
        self.running
            .as_ref()
            .expect("running")
            .local_addr()
            .to_string()
    }
}

impl OwnRuntimeBroker {
    /// `127.0.0.1:port` of the listener named `name` (`SASL_PLAINTEXT`, ...).
    #[allow(dead_code)] // not every test binary has several listeners
    pub fn listener(&self, name: &str) -> String {
        self.running
            .as_ref()
            .expect("running")
            .listener_addr(name)
            .unwrap_or_else(|| panic!("no listener {name}"))
            .to_string()
    }
}

impl Drop for OwnRuntimeBroker {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.shutdown());
        }
    }
}
