//! Redirects: GitHub answers `301` (GET) or `307` (other methods) with a
//! `Location` on the same API host for a renamed or transferred repository
//! ("Best practices": follow redirects), and `308` is 307's permanent twin.
//! Those are followed, with the same method and body, up to
//! [`MAX_REDIRECTS`] hops. A `Location` on any other origin (scheme, host or
//! port) is never requested: octocrab adds `Authorization` to every request
//! it sends, so following it would hand the token to that host. It fails
//! with a message naming both hosts instead; a request without the token
//! would be refused by any route seatkeeper uses anyway.
//!
//! `302` and `303` are not followed: `GET /orgs/{org}/members/{login}`
//! answers 302 to say "the token cannot see membership", which the caller
//! reads.

use http::StatusCode;

use super::{GitHubClient, GitHubError, Octocrab, Req, Resp};

/// Hops followed for one request before it is refused as a loop.
pub(super) const MAX_REDIRECTS: usize = 5;

/// The `Location` of a redirect seatkeeper follows.
fn location(resp: &Resp) -> Option<&str> {
    matches!(
        resp.status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
    .then(|| resp.headers.get(http::header::LOCATION)?.to_str().ok())
    .flatten()
}

/// Where a redirect from `base` (the API root, without a trailing `/`) to
/// `location` leads, as a path under `base` (with its query); `Err` with the
/// other origin when it leaves `base`'s scheme, host and port, or the path
/// leaves `base`'s path.
pub(super) fn same_origin_path(base: &str, location: &str) -> Result<String, String> {
    let base: http::Uri = base.parse().map_err(|_| base.to_string())?;
    let prefix = base.path().trim_end_matches('/');
    let target: http::Uri = location.parse().map_err(|_| location.to_string())?;
    if let Some(authority) = target.authority() {
        let same = target.scheme_str().map(str::to_ascii_lowercase)
            == base.scheme_str().map(str::to_ascii_lowercase)
            && base.authority().is_some_and(|b| {
                b.host().eq_ignore_ascii_case(authority.host())
                    && b.port_u16() == authority.port_u16()
            });
        if !same {
            return Err(format!(
                "{}://{authority}",
                target.scheme_str().unwrap_or("?")
            ));
        }
    } else if !location.starts_with('/') {
        // A relative reference other than an absolute path: not GitHub's.
        return Err(location.to_string());
    }
    let path_and_query = target.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match path_and_query.strip_prefix(prefix) {
        Some(rest) if rest.starts_with('/') => Ok(rest.to_string()),
        _ => Err(format!("{location} (outside the API root {base})")),
    }
}

impl GitHubClient {
    /// [`GitHubClient::send_once`], following same-origin redirects.
    pub(super) async fn send(&self, crab: &Octocrab, req: &Req) -> Result<Resp, GitHubError> {
        let mut resp = self.send_once(crab, req).await?;
        let mut moved: Option<Req> = None;
        let mut hops = 0;
        while let Some(to) = location(&resp) {
            let from = moved.as_ref().unwrap_or(req);
            let path = same_origin_path(&self.inner.base_url, to).map_err(|other| {
                GitHubError::Http {
                    status: resp.status.as_u16(),
                    method: from.method.to_string(),
                    route: from.route.to_string(),
                    message: format!(
                        "GitHub redirected {} to another host, {other}; seatkeeper sends its token only to {} and did not follow it: if the repository or organization moved to another host, point --github-url (or the source) there",
                        from.path.split('?').next().unwrap_or(&from.path),
                        self.inner.base_url
                    ),
                }
            })?;
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(GitHubError::Http {
                    status: resp.status.as_u16(),
                    method: from.method.to_string(),
                    route: from.route.to_string(),
                    message: format!(
                        "more than {MAX_REDIRECTS} redirects from {}: a redirect loop",
                        req.path
                    ),
                });
            }
            // A renamed repository keeps redirecting until the source names
            // its new home: say so once per request.
            tracing::info!(
                method = %from.method,
                route = from.route,
                status = resp.status.as_u16(),
                from = %from.path,
                to = %path,
                "GitHub redirected (a renamed or moved repository?): following on the same host"
            );
            let next = Req {
                path,
                method: from.method.clone(),
                route: from.route,
                body: from.body.clone(),
                if_none_match: from.if_none_match.clone(),
            };
            resp = self.send_once(crab, &next).await?;
            moved = Some(next);
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin_path;

    #[test]
    fn only_the_api_origin_is_followed() {
        let base = "https://api.github.com";
        #[rustfmt::skip]
        let cases = [
            ("https://api.github.com/repositories/42/contents/seats.yaml?ref=main", Ok("/repositories/42/contents/seats.yaml?ref=main")),
            ("/repositories/42", Ok("/repositories/42")),
            ("HTTPS://API.GITHUB.COM/repositories/42", Ok("/repositories/42")),
            ("https://evil.example/repositories/42", Err("https://evil.example")),
            ("https://api.github.com:8443/repositories/42", Err("https://api.github.com:8443")),
            ("http://api.github.com/repositories/42", Err("http://api.github.com")),
            ("repositories/42", Err("repositories/42")),
        ];
        for (location, want) in cases {
            let got = same_origin_path(base, location);
            match (&got, want) {
                (Ok(p), Ok(w)) => assert_eq!(p, w, "{location}"),
                (Err(e), Err(w)) => assert!(e.starts_with(w), "{location}: {e}"),
                _ => panic!("{location}: {got:?}, want {want:?}"),
            }
        }
        // An API root with a path keeps it, and a Location outside it is refused.
        let ghe = "http://127.0.0.1:8080/api";
        assert_eq!(
            same_origin_path(ghe, "http://127.0.0.1:8080/api/repos/a/b").as_deref(),
            Ok("/repos/a/b")
        );
        assert!(same_origin_path(ghe, "/other/repos/a/b").is_err());
        assert!(same_origin_path(ghe, "http://localhost:8080/api/repos/a/b").is_err());
    }
}
