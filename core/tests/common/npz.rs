//! A small `.npz` reader for the conformance vectors: a zip archive (stored or deflated
//! entries) of `.npy` arrays, each parsed by npyz.
//!
//! The zip crate is built with deflate only. npyz's own `npz` feature would pull in every zip
//! codec (zstd and bzip2, both C builds, and AES), which cost the cold test build about 40
//! CPU-seconds for archives that only ever use deflate.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

/// An open `.npz` archive.
pub struct Npz {
    archive: zip::ZipArchive<BufReader<File>>,
    path: PathBuf,
}

impl Npz {
    /// Opens `path`; panics with the path if it is missing or not a zip archive.
    pub fn open(path: &Path) -> Self {
        let file = File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let archive = zip::ZipArchive::new(BufReader::new(file)).unwrap_or_else(|e| panic!("{} is not an npz archive: {e}", path.display()));
        Self { archive, path: path.to_owned() }
    }

    /// The names of the arrays in the archive (entry names without `.npy`).
    pub fn names(&self) -> Vec<String> {
        self.archive.file_names().filter_map(|n| n.strip_suffix(".npy")).map(str::to_owned).collect()
    }

    /// The array `name`; panics with the path if it is missing or unreadable.
    pub fn array(&mut self, name: &str) -> npyz::NpyFile<Cursor<Vec<u8>>> {
        let path = self.path.display();
        let mut entry = match self.archive.by_name(&format!("{name}.npy")) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => panic!("{path} has no array {name}"),
            Err(e) => panic!("{path} entry {name}: {e}"),
        };
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).unwrap_or_else(|e| panic!("{path} entry {name}: {e}"));
        npyz::NpyFile::new(Cursor::new(bytes)).unwrap_or_else(|e| panic!("{path} entry {name}: {e}"))
    }
}
