//! Where desired state comes from: a local file (re-read on every
//! reconcile, so a ConfigMap mount or a git-sync sidecar works), or a file in
//! a GitHub repository at a ref, read through the Contents API with
//! `If-None-Match` ([`Source`]).

use std::path::PathBuf;

use crate::config::SeatsFile;
use crate::github::GitHubError;
use crate::github::client::{Contents, GitHubClient};

/// A seats.yaml that was read and validated, with what is needed to point
/// later findings (unknown teams, ineligible users) at its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The path shown in messages (`seats.yaml`, `github:acme/seats/seats.yaml@main`).
    pub path: String,
    /// The file's text.
    pub text: String,
    /// The parsed file.
    pub file: SeatsFile,
    /// The git blob SHA of the content, when known (GitHub source).
    pub sha: Option<String>,
}

impl Loaded {
    /// Parse `bytes` read from `path`.
    pub fn parse(path: &str, bytes: &[u8], sha: Option<String>) -> crate::Result<Loaded> {
        let file = SeatsFile::parse(path, bytes)?;
        Ok(Loaded {
            path: path.to_string(),
            text: String::from_utf8_lossy(bytes).into_owned(),
            file,
            sha,
        })
    }

    /// Read and parse a local file (read once: the text, the parse and the
    /// SHA all describe the same bytes).
    pub fn from_path(path: &std::path::Path) -> crate::Result<Loaded> {
        let bytes = crate::config::read_file(path)?;
        let sha = git_blob_sha(&bytes);
        Loaded::parse(&path.display().to_string(), &bytes, Some(sha))
    }
}

/// A desired-state source named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A local path.
    Path(PathBuf),
    /// `github:OWNER/REPO/PATH@REF`.
    GitHub {
        /// Repository owner.
        owner: String,
        /// Repository name.
        repo: String,
        /// Path of seats.yaml inside the repository.
        path: String,
        /// Branch, tag or commit.
        reference: String,
    },
}

impl std::str::FromStr for SourceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some(rest) = s.strip_prefix("github:") else {
            return Ok(SourceSpec::Path(PathBuf::from(s)));
        };
        let (loc, reference) = rest.rsplit_once('@').ok_or_else(|| {
            format!("`{s}`: a GitHub source is github:OWNER/REPO/PATH@REF (the @REF is required)")
        })?;
        let mut parts = loc.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(o), Some(r), Some(p))
                if !o.is_empty() && !r.is_empty() && !p.is_empty() && !reference.is_empty() =>
            {
                Ok(SourceSpec::GitHub {
                    owner: o.to_string(),
                    repo: r.to_string(),
                    path: p.to_string(),
                    reference: reference.to_string(),
                })
            }
            _ => Err(format!(
                "`{s}`: a GitHub source is github:OWNER/REPO/PATH@REF, e.g. github:acme/copilot-seats/seats.yaml@main"
            )),
        }
    }
}

impl SourceSpec {
    /// For a `github:` source whose ref can move: the repository and the
    /// git reference to resolve it with (`heads/BRANCH`, or the ref as given
    /// after `refs/`). `None` for a local path or a commit SHA.
    pub fn movable_ref(&self) -> Option<(crate::github::repo::RepoRef, String)> {
        let SourceSpec::GitHub {
            owner,
            repo,
            reference,
            ..
        } = self
        else {
            return None;
        };
        let is_sha = reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit());
        if is_sha {
            return None;
        }
        let git_ref = match reference.strip_prefix("refs/") {
            Some(r) => r.to_string(),
            None => format!("heads/{reference}"),
        };
        Some((
            crate::github::repo::RepoRef {
                owner: owner.clone(),
                name: repo.clone(),
            },
            git_ref,
        ))
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Path(p) => write!(f, "{}", p.display()),
            SourceSpec::GitHub {
                owner,
                repo,
                path,
                reference,
            } => write!(f, "github:{owner}/{repo}/{path}@{reference}"),
        }
    }
}

/// The bytes of a desired-state source as read, before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// The path shown in messages (the source as written on the command line).
    pub path: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The git blob SHA of the bytes.
    pub sha: String,
    /// True when GitHub answered 304: the same file as the last read.
    pub unchanged: bool,
}

impl Raw {
    /// Parse and validate the bytes.
    pub fn parse(&self) -> crate::Result<Loaded> {
        Loaded::parse(&self.path, &self.bytes, Some(self.sha.clone()))
    }
}

/// The last file read from GitHub, kept for conditional requests.
#[derive(Debug, Clone)]
struct Cached {
    etag: String,
    bytes: Vec<u8>,
    sha: String,
}

/// A desired-state source the controller reads on every reconcile: a local
/// path is read again each time (a ConfigMap mount or a git-sync checkout
/// changes under us); a `github:` source is read through the Contents API
/// with `If-None-Match`, so an unchanged file costs a 304 and no rate limit.
#[derive(Debug, Clone)]
pub struct Source {
    spec: SourceSpec,
    cached: Option<Cached>,
}

impl Source {
    /// A source that has not been read yet.
    pub fn new(spec: SourceSpec) -> Source {
        Source { spec, cached: None }
    }

    /// What this source reads.
    pub fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    /// Read the source's current bytes (`client` is used for `github:`
    /// sources only). On a 304 the bytes of the last read are returned with
    /// [`Raw::unchanged`] set.
    pub async fn read(&mut self, client: &GitHubClient) -> crate::Result<Raw> {
        self.read_at(client, None).await
    }

    /// [`Source::read`], with a `github:` source read at `commit` (a SHA the
    /// source's ref was resolved to) instead of at its ref, so the bytes are
    /// exactly that commit's, whatever happens to the ref meanwhile.
    pub async fn read_at(
        &mut self,
        client: &GitHubClient,
        commit: Option<&str>,
    ) -> crate::Result<Raw> {
        let shown = self.spec.to_string();
        match &self.spec {
            SourceSpec::Path(path) => {
                let io = |source| crate::Error::Io {
                    path: shown.clone(),
                    source,
                };
                // Refuse a file over the limit before reading it into memory.
                let len = tokio::fs::metadata(path).await.map_err(io)?.len();
                if len > crate::config::MAX_FILE_BYTES as u64 {
                    return Err(crate::config::ConfigError::too_large(&shown, len).into());
                }
                let bytes = tokio::fs::read(path).await.map_err(io)?;
                Ok(Raw {
                    path: shown,
                    sha: git_blob_sha(&bytes),
                    bytes,
                    unchanged: false,
                })
            }
            SourceSpec::GitHub {
                owner,
                repo,
                path,
                reference,
            } => {
                let etag = self.cached.as_ref().map(|c| c.etag.as_str());
                let at = commit.unwrap_or(reference);
                match client.get_contents(owner, repo, path, at, etag).await? {
                    Contents::NotModified => match &self.cached {
                        Some(c) => Ok(Raw {
                            path: shown,
                            bytes: c.bytes.clone(),
                            sha: c.sha.clone(),
                            unchanged: true,
                        }),
                        // Only possible if GitHub answered 304 to a request
                        // without If-None-Match.
                        None => Err(GitHubError::Decode {
                            route: "/repos/{owner}/{repo}/contents/{path}".into(),
                            message: format!("{shown}: 304 Not Modified without a cached copy"),
                        }
                        .into()),
                    },
                    Contents::File { bytes, sha, etag } => {
                        self.cached = etag.map(|etag| Cached {
                            etag,
                            bytes: bytes.clone(),
                            sha: sha.clone(),
                        });
                        Ok(Raw {
                            path: shown,
                            bytes,
                            sha,
                            unchanged: false,
                        })
                    }
                }
            }
        }
    }

    /// Read, parse and validate the source.
    pub async fn fetch(&mut self, client: &GitHubClient) -> crate::Result<Loaded> {
        self.read(client).await?.parse()
    }
}

/// Git's blob SHA-1 of some content (`git hash-object`), so a local file and
/// the same file on GitHub report the same SHA.
pub fn git_blob_sha(bytes: &[u8]) -> String {
    use sha1_smol::Sha1;
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    h.digest().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_specs() {
        #[rustfmt::skip]
        let cases: &[(&str, Result<SourceSpec, &str>)] = &[
            ("seats.yaml", Ok(SourceSpec::Path("seats.yaml".into()))),
            ("/etc/seatkeeper/seats.yaml", Ok(SourceSpec::Path("/etc/seatkeeper/seats.yaml".into()))),
            ("github:acme/seats/seats.yaml@main", Ok(SourceSpec::GitHub { owner: "acme".into(), repo: "seats".into(), path: "seats.yaml".into(), reference: "main".into() })),
            ("github:acme/seats/dir/seats.yaml@v1.2", Ok(SourceSpec::GitHub { owner: "acme".into(), repo: "seats".into(), path: "dir/seats.yaml".into(), reference: "v1.2".into() })),
            ("github:acme/seats/seats.yaml", Err("the @REF is required")),
            ("github:acme/seats@main", Err("github:OWNER/REPO/PATH@REF")),
            ("github:/x/y@main", Err("github:OWNER/REPO/PATH@REF")),
        ];
        for (input, want) in cases {
            let got: Result<SourceSpec, String> = input.parse();
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(&g, w, "{input}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{input}: {e}"),
                (g, w) => panic!("{input}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn movable_refs() {
        let spec = |s: &str| s.parse::<SourceSpec>().unwrap();
        #[rustfmt::skip]
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("github:acme/seats/seats.yaml@main", Some(("acme/seats", "heads/main"))),
            ("github:acme/seats/seats.yaml@feature/x", Some(("acme/seats", "heads/feature/x"))),
            ("github:acme/seats/seats.yaml@refs/tags/v1", Some(("acme/seats", "tags/v1"))),
            ("github:acme/seats/seats.yaml@0123456789abcdef0123456789abcdef01234567", None),
            ("seats.yaml", None),
        ];
        for (s, want) in cases {
            let got = spec(s).movable_ref().map(|(r, g)| (r.to_string(), g));
            assert_eq!(
                got,
                want.map(|(r, g)| (r.to_string(), g.to_string())),
                "{s}"
            );
        }
    }

    #[tokio::test]
    async fn local_files_over_the_limit_are_refused_by_both_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seats.yaml");
        std::fs::write(&path, vec![b'#'; crate::config::MAX_FILE_BYTES + 1]).unwrap();
        let err = Loaded::from_path(&path).unwrap_err().to_string();
        assert!(err.contains("may be at most 1048576 bytes"), "{err}");
        let client = crate::github::client::GitHubClient::new(
            crate::github::args::GitHubArgs::for_url("http://127.0.0.1:9")
                .config(Some("t".into()))
                .unwrap(),
        )
        .await
        .unwrap();
        let err = Source::new(SourceSpec::Path(path.clone()))
            .read(&client)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("may be at most 1048576 bytes"), "{err}");
    }

    #[test]
    fn blob_sha_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            git_blob_sha(b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }
}
