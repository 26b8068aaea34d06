//! Where desired state comes from: a local file (re-read on every
//! reconcile, so a ConfigMap mount or a git-sync sidecar works), or a file in
//! a GitHub repository at a ref (see the controller).

use std::path::PathBuf;

use crate::config::SeatsFile;

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

    /// Read and parse a local file.
    pub fn from_path(path: &std::path::Path) -> crate::Result<Loaded> {
        let file = SeatsFile::load(path)?;
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Io {
            path: shown.clone(),
            source,
        })?;
        Ok(Loaded {
            path: shown,
            sha: Some(git_blob_sha(text.as_bytes())),
            text,
            file,
        })
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
