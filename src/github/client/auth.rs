//! Credentials that change under a running process: a token read from a
//! file (a mounted Kubernetes Secret) is re-read when the file changes and
//! when GitHub answers 401, so a rotated Secret works without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use octocrab::Octocrab;
use secrecy::{ExposeSecret, SecretString};

use crate::github::GitHubError;

/// What a file looked like when it was read: a change of either means
/// "read it again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
    })
}

/// Read a secret from a file: at most `MAX_SECRET_BYTES`, trimmed, not
/// empty; a warning when others than the owner and the process's own group
/// can read it.
pub fn read_secret(path: &Path, what: &str) -> Result<String, GitHubError> {
    let bytes = crate::config::read_capped(path, crate::config::MAX_SECRET_BYTES).map_err(|e| {
        GitHubError::Config(format!("cannot read the {what} {}: {e}", path.display()))
    })?;
    warn_if_exposed(path, what);
    let text = String::from_utf8(bytes).map_err(|_| {
        GitHubError::Config(format!("the {what} {} is not UTF-8 text", path.display()))
    })?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(GitHubError::Config(format!(
            "the {what} {} is empty",
            path.display()
        )));
    }
    Ok(text)
}

/// Warn when a secret file is readable by everyone, or by a group other
/// than the process's own (Kubernetes mounts Secrets group-readable for the
/// pod's fsGroup, which is fine).
fn warn_if_exposed(path: &Path, what: &str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else {
        return;
    };
    let mode = m.mode();
    let others = mode & 0o004 != 0;
    let foreign_group = mode & 0o040 != 0 && own_gid().is_some_and(|g| g != m.gid());
    if others || foreign_group {
        tracing::warn!(
            file = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the {what} is readable by {}: chmod 600 it (or 640 for a group of your own)",
            if others { "everyone" } else { "another group" }
        );
    }
}

/// The process's effective group id, from `/proc/self/status`.
fn own_gid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Gid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Builds a client carrying a token.
pub(super) type BuildClient = Box<dyn Fn(&str) -> Result<Octocrab, GitHubError> + Send + Sync>;

/// A token client rebuilt when its token file changes.
pub(super) struct Rotating {
    path: PathBuf,
    build: BuildClient,
    state: Mutex<State>,
}

struct State {
    crab: Arc<Octocrab>,
    stamp: Option<Stamp>,
    token: SecretString,
}

impl Rotating {
    /// Read `path` and build a client with its token.
    pub(super) fn new(path: PathBuf, build: BuildClient) -> Result<Rotating, GitHubError> {
        let token = read_secret(&path, "token file")?;
        let crab = Arc::new(build(&token)?);
        Ok(Rotating {
            state: Mutex::new(State {
                crab,
                stamp: stamp(&path),
                token: SecretString::from(token),
            }),
            path,
            build,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client, re-read first when the file changed since.
    pub(super) fn current(&self) -> Arc<Octocrab> {
        if stamp(&self.path) != self.lock().stamp {
            // A read that fails (the Secret being swapped) keeps the old token.
            let _ = self.reload();
        }
        Arc::clone(&self.lock().crab)
    }

    /// Read the file again; `Ok(true)` when it holds another token than
    /// the one in use (worth retrying a request that got 401).
    pub(super) fn reload(&self) -> Result<bool, GitHubError> {
        let token = read_secret(&self.path, "token file")?;
        let mut st = self.lock();
        st.stamp = stamp(&self.path);
        if token == st.token.expose_secret() {
            return Ok(false);
        }
        st.crab = Arc::new((self.build)(&token)?);
        st.token = SecretString::from(token);
        tracing::info!(file = %self.path.display(), "the token file changed: using the new token");
        Ok(true)
    }
}

/// Is `url` on a loopback host (`127.0.0.0/8`, `::1`, `localhost`)? The
/// host is parsed: user information (`http://[::1]@HOST`) is not loopback.
pub fn is_loopback(url: &str) -> bool {
    crate::github::args::url_is_loopback(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        #[rustfmt::skip]
        let cases = [
            ("http://127.0.0.1:8080", true),
            ("http://127.1.2.3/api", true),
            ("http://localhost:9/x", true),
            ("http://[::1]:8080/", true),
            ("http://github.example.com", false),
            ("http://10.0.0.1", false),
            ("http://127.0.0.1.evil.com", false),
        ];
        for (url, want) in cases {
            assert_eq!(is_loopback(url), want, "{url}");
        }
    }

    #[test]
    fn secrets_are_read_boundedly_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "  ghp_abc \n").unwrap();
        assert_eq!(read_secret(&p, "token file").unwrap(), "ghp_abc");
        std::fs::write(&p, "\n").unwrap();
        assert!(
            read_secret(&p, "token file")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        std::fs::write(&p, vec![b'a'; crate::config::MAX_SECRET_BYTES + 1]).unwrap();
        assert!(
            read_secret(&p, "token file")
                .unwrap_err()
                .to_string()
                .contains("larger than")
        );
    }
}
