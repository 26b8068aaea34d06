//! The Contents API: reading seats.yaml from a repository at a ref.

use http::StatusCode;
use serde::Deserialize;

use super::{GitHubClient, Req, seg};
use crate::github::GitHubError;

/// A file read with [`GitHubClient::get_contents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// 304: the file still has the ETag that was sent.
    NotModified,
    /// The file as it is now.
    File {
        /// The decoded content.
        bytes: Vec<u8>,
        /// The git blob SHA GitHub reports.
        sha: String,
        /// The `ETag` to send next time, when GitHub sent one.
        etag: Option<String>,
    },
}

#[derive(Deserialize)]
struct ContentsJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
    sha: String,
}

impl GitHubClient {
    /// Read one file with the Contents API (`GET
    /// /repos/{owner}/{repo}/contents/{path}?ref=REF`). With `if_none_match`
    /// (the ETag of an earlier read) an unchanged file costs no rate limit
    /// and answers [`Contents::NotModified`].
    pub async fn get_contents(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        reference: &str,
        if_none_match: Option<&str>,
    ) -> Result<Contents, GitHubError> {
        let crab = self.crab_for(Some(owner)).await?;
        let encoded: Vec<String> = path.trim_matches('/').split('/').map(seg).collect();
        let route = "/repos/{owner}/{repo}/contents/{path}";
        let mut req = Req::get(
            route,
            format!(
                "/repos/{}/{}/contents/{}?ref={}",
                seg(owner),
                seg(repo),
                encoded.join("/"),
                seg(reference)
            ),
        );
        req.if_none_match = if_none_match.map(str::to_string);
        let resp = self.send(&crab, &req).await?;
        if resp.status == StatusCode::NOT_MODIFIED {
            return Ok(Contents::NotModified);
        }
        if resp.status == StatusCode::NOT_FOUND {
            return Err(GitHubError::Http {
                status: 404,
                method: "GET".into(),
                route: route.into(),
                message: format!(
                    "no file `{path}` at `{reference}` in {owner}/{repo}, or the token cannot read that repository (it needs contents: read)"
                ),
            });
        }
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, None));
        }
        let body: ContentsJson = resp.json(route)?;
        if body.kind != "file" {
            return Err(GitHubError::Decode {
                route: route.into(),
                message: format!("`{path}` is a {}, not a file", body.kind),
            });
        }
        // Files over 1 MB come without content (`encoding: none`); seats.yaml
        // may not be that big anyway.
        let content = match (body.encoding.as_deref(), body.content) {
            (Some("base64"), Some(c)) => c,
            (encoding, _) => {
                return Err(GitHubError::Decode {
                    route: route.into(),
                    message: format!(
                        "`{path}` came without base64 content (encoding {}): seats.yaml may be at most 1 MiB",
                        encoding.unwrap_or("missing")
                    ),
                });
            }
        };
        use base64::Engine as _;
        let compact: String = content.split_ascii_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| GitHubError::Decode {
                route: route.into(),
                message: format!("`{path}`: content is not valid base64: {e}"),
            })?;
        let etag = resp
            .headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Contents::File {
            bytes,
            sha: body.sha,
            etag,
        })
    }
}
