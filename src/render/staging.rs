//! The hidden staging directory a results tree is built in, and the removal of the staging
//! directories that writers killed before they could clean up (SIGKILL, OOM killer, power
//! loss) left behind.
//!
//! A staging directory is `.<final name>.partial-<host>.<pid>[-<n>]`, next to the claimed
//! (empty) final directory. Its writer holds an exclusive `flock` on it until the tree is
//! renamed into place or removed; the kernel drops the lock when the writer dies, however it
//! dies. A later writer removes a staging directory, and the empty claim it names, only when
//! all of these hold:
//!
//! * the name is one this code makes, with this host's name (the output directory may be on a
//!   file system shared by several hosts, whose pids mean nothing here);
//! * that pid is not a live process on this host (`/proc/<pid>`);
//! * it was last modified before this process started writing, so it is not being created
//!   right now;
//! * its lock is free (where the file system cannot lock, it is kept: nobody can tell).
//!
//! The older name `.<final name>.partial-<pid>[-<n>]` (written from 3b09470 until c81e43e,
//! never in a tagged or versioned release) is left alone: it names no host and its writer
//! held no lock, so two of these rules cannot be checked, and a pid alone may be another
//! host's live writer on a shared file system.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

use super::{RenderError, create_unique, io};

const MARK: &str = ".partial-";

/// When this process first wrote a results tree: staging directories modified later are
/// never taken for stale.
static STARTED: LazyLock<SystemTime> = LazyLock::new(SystemTime::now);

/// A staging directory and the lock its writer holds while it lives.
pub(super) struct Staging {
    pub dir: PathBuf,
    _lock: File,
}

/// Create and lock a fresh staging directory for the final directory `final_name` under
/// `root` (a fresh one always: a stale directory of a dead process with the same pid is never
/// reused).
pub(super) fn create(root: &Path, final_name: &str) -> Result<Staging, RenderError> {
    LazyLock::force(&STARTED);
    let base = format!(".{final_name}{MARK}{}.{}", host(), std::process::id());
    let (dir, _) = create_unique(root, &base, "-")?;
    let lock = File::open(&dir).map_err(io(&dir))?;
    // A file system without locks leaves it unlocked: the pid check still protects it.
    let _ = try_lock(&lock);
    Ok(Staging { dir, _lock: lock })
}

/// Remove the stale staging directories under `root` (see the module's rules) and the empty
/// final directories they had claimed; how many were removed. Failures are ignored: a
/// directory that cannot be removed stays, as before.
pub(super) fn remove_stale(root: &Path) -> usize {
    let started = *STARTED;
    let Ok(entries) = fs::read_dir(root) else {
        return 0;
    };
    let host = host();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(parse) else {
            continue;
        };
        if owner.host == host
            && owner.pid != std::process::id()
            && !pid_alive(owner.pid)
            && remove_if_unlocked(root, &entry.path(), owner.final_name, started)
        {
            removed += 1;
        }
    }
    removed
}

fn remove_if_unlocked(root: &Path, path: &Path, final_name: &str, started: SystemTime) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_dir() || !meta.modified().is_ok_and(|t| t < started) {
        return false;
    }
    let Ok(dir) = File::open(path) else {
        return false;
    };
    if !try_lock(&dir) {
        return false; // its writer lives (on another host, in another pid namespace)
    }
    // Another cleaner may have removed it (and a new writer made one of the same name)
    // between the listing and the lock: only the directory that was checked is removed.
    if !dir.metadata().is_ok_and(|m| same_file(&m, &meta)) || fs::remove_dir_all(path).is_err() {
        return false;
    }
    // The claim goes last, and only while empty: the staging directory that named it is
    // gone, so no other cleaner can reach it, and while it exists nobody else can claim it.
    let _ = fs::remove_dir(root.join(final_name));
    true
}

/// Take `file`'s exclusive `flock` without waiting; whether it was free.
#[cfg(unix)]
fn try_lock(file: &File) -> bool {
    use rustix::fs::{FlockOperation, flock};
    flock(file, FlockOperation::NonBlockingLockExclusive).is_ok()
}

#[cfg(not(unix))]
fn try_lock(_: &File) -> bool {
    false // cannot tell: keep it
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    false // cannot tell: keep it
}

struct Owner<'a> {
    final_name: &'a str,
    host: &'a str,
    pid: u32,
}

/// `.<final>.partial-<host>.<pid>[-<n>]` → its parts; any other name → `None`.
fn parse(name: &str) -> Option<Owner<'_>> {
    let rest = name.strip_prefix('.')?;
    let at = rest.rfind(MARK)?;
    let (final_name, tail) = (&rest[..at], &rest[at + MARK.len()..]);
    let (host, pid_n) = tail.rsplit_once('.')?;
    let (pid, n) = pid_n.split_once('-').unwrap_or((pid_n, "2"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if final_name.is_empty() || host.is_empty() || !digits(pid) || !digits(n) {
        return None;
    }
    Some(Owner {
        final_name,
        host,
        pid: pid.parse().ok()?,
    })
}

/// This host's name as a file-name part (the UTS name, as `hostname` prints it).
fn host() -> String {
    let name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

/// Whether `pid` is a live (or not yet reaped) process here; without `/proc` nobody can
/// tell, and the lock alone decides.
fn pid_alive(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed_from_the_right() {
        let o = parse(".a.partial-b_1.partial-node-1.123-4").unwrap();
        assert_eq!(
            (o.final_name, o.host, o.pid),
            ("a.partial-b_1", "node-1", 123)
        );
        let o = parse(".ai_dynamo_ts.partial-h.77").unwrap();
        assert_eq!((o.final_name, o.host, o.pid), ("ai_dynamo_ts", "h", 77));
        for other in [
            ".ai_dynamo_ts.partial-77", // the old format: no host, never removed
            "ai_dynamo_ts.partial-h.77",
            ".ai_dynamo_ts.partial-h.77-",
            ".ai_dynamo_ts.partial-h.x7",
            "..partial-h.7",
            ".ai_dynamo_ts.partial-.7",
        ] {
            assert!(parse(other).is_none(), "{other}");
        }
    }

    #[test]
    fn host_is_one_file_name_part() {
        let h = host();
        assert!(!h.is_empty() && !h.contains(['.', '/']), "{h}");
    }
}
