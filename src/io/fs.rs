//! Files in an output directory written so that a crash or a planted link cannot hurt them:
//! created afresh without following links, replaced atomically, their directory synced.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Creates `path` afresh for writing inside an output directory: whatever is there is removed
/// first (a file, or a symbolic link planted to make the scan write elsewhere), and the new
/// file is opened with `O_EXCL`, which never follows a link.
pub fn create_fresh(path: &Path) -> io::Result<File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Writes `path` so that it is either the old or the whole new content, even after a crash.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = create_fresh(&tmp).map_err(|e| with_path(e, &tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(|e| with_path(e, &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| with_path(e, path))?;
    // A bare file name's parent is "", which names no directory.
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    sync_dir(dir.unwrap_or(Path::new(".")))
}

/// Makes the directory's entries (new and renamed files) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(e, dir))
}

/// An I/O error that names its file.
pub fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("report.tmp");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        use std::io::Write;
        super::create_fresh(&link)
            .unwrap()
            .write_all(b"new")
            .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}
