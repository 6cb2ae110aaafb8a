//! Persistence of the metadata image: one JSON file in the log directory, replaced atomically
//! (write a temporary file, fsync, rename, fsync the directory) so a crash leaves either the
//! old image or the new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ClusterImage;

const FILE_NAME: &str = "cluster-metadata.json";

#[derive(Debug)]
pub(super) struct Store {
    dir: PathBuf,
}

impl Store {
    pub(super) fn new(dir: &Path) -> Self {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    pub(super) fn load(&self) -> std::io::Result<Option<ClusterImage>> {
        let path = self.dir.join(FILE_NAME);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn save(&self, image: &ClusterImage) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(image).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!("{FILE_NAME}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(FILE_NAME))?;
        fs::File::open(&self.dir)?.sync_all()
    }
}
