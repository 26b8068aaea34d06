//! Command-line and environment settings for connecting to GitHub, shared by
//! every subcommand that talks to GitHub (plan, apply, import, run).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::GitHubError;
use super::client::{Auth, ClientConfig, GitHubClient};

/// How to reach GitHub and authenticate. Tokens are never accepted as
/// command-line arguments (they would show in `ps`): use `GITHUB_TOKEN` (or
/// `GH_TOKEN`), `--token-file`, or a GitHub App key file.
#[derive(Debug, Clone, clap::Args)]
pub struct GitHubArgs {
    /// REST API root: GitHub.com (default), GHE.com (https://api.SUBDOMAIN.ghe.com), or a simulator. GitHub Enterprise Server has no Copilot seat API.
    #[arg(long, env = "GITHUB_API_URL", default_value = super::client::DEFAULT_BASE_URL, value_name = "URL", help_heading = "GitHub connection")]
    pub github_url: String,
    /// Read the token from this file (e.g. a mounted Kubernetes secret) instead of GITHUB_TOKEN or GH_TOKEN; re-read when it changes.
    #[arg(
        long,
        env = "SEATKEEPER_TOKEN_FILE",
        value_name = "PATH",
        help_heading = "GitHub connection"
    )]
    pub token_file: Option<PathBuf>,
    /// Authenticate as this GitHub App instead of with a token.
    #[arg(
        long,
        env = "GITHUB_APP_ID",
        value_name = "ID",
        requires = "app_key_file",
        help_heading = "GitHub connection"
    )]
    pub app_id: Option<u64>,
    /// The GitHub App's private key (PEM).
    #[arg(
        long,
        env = "GITHUB_APP_PRIVATE_KEY_FILE",
        value_name = "PATH",
        help_heading = "GitHub connection"
    )]
    pub app_key_file: Option<PathBuf>,
    /// The App's installation id; discovered from the org when omitted.
    #[arg(
        long,
        env = "GITHUB_APP_INSTALLATION_ID",
        value_name = "ID",
        help_heading = "GitHub connection"
    )]
    pub installation_id: Option<u64>,
    /// Seat pages fetched at once after the first.
    #[arg(
        long,
        default_value_t = 4,
        value_name = "N",
        help_heading = "Throttling"
    )]
    pub page_concurrency: usize,
    /// Requests in flight at once (GitHub's secondary limit is 100).
    #[arg(
        long,
        default_value_t = 8,
        value_name = "N",
        help_heading = "Throttling"
    )]
    pub max_concurrent_requests: usize,
    /// Request points per minute (GET 1, POST/DELETE 5; GitHub's secondary limit is 900).
    #[arg(
        long,
        default_value_t = 900,
        value_name = "N",
        help_heading = "Throttling"
    )]
    pub points_per_minute: u32,
    /// Longest wait for a rate limit to reset before giving up, in seconds.
    #[arg(
        long,
        default_value_t = 300,
        value_name = "SECONDS",
        help_heading = "Throttling"
    )]
    pub max_rate_limit_wait: u64,
    /// Least time between two writes, which go one at a time, in ms
    /// (default: GitHub's 1000 for a remote API root, 0 for a loopback one).
    #[arg(long, value_name = "MS", help_heading = "Throttling")]
    pub write_interval_ms: Option<u64>,
}

/// Settings of commands that write seats.
#[derive(Debug, Clone, clap::Args)]
pub struct WriteArgs {
    /// Logins or teams per write request (GitHub takes up to 100 in practice).
    #[arg(long, default_value_t = 100, value_name = "N", help_heading = "Writes")]
    pub batch_size: usize,
}

impl Default for WriteArgs {
    fn default() -> Self {
        WriteArgs { batch_size: 100 }
    }
}

/// GitHub Enterprise Server has no Copilot routes (its 3.17-3.19
/// descriptions list none; Copilot licences are assigned on GitHub.com or
/// GHE.com only), and its API root is `https://HOST/api/v3`: refuse it
/// before any request instead of failing on a 404 later.
pub fn refuse_ghes(url: &str) -> Result<(), GitHubError> {
    let path = url.parse::<http::Uri>().map(|u| u.path().to_string());
    if path.is_ok_and(|p| p.trim_end_matches('/').eq_ignore_ascii_case("/api/v3")) {
        return Err(GitHubError::Config(format!(
            "--github-url `{url}` is a GitHub Enterprise Server API root, and GitHub Enterprise Server has no Copilot seat API: Copilot seats are managed on GitHub.com (leave --github-url unset) or GHE.com (https://api.SUBDOMAIN.ghe.com)"
        )));
    }
    Ok(())
}

/// The token from the environment: `GITHUB_TOKEN`, else `GH_TOKEN` (the
/// GitHub CLI's), whichever is set and not empty.
pub fn token_from_env() -> Option<String> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|t| !t.trim().is_empty())
}

/// Check an API root before any token is sent to it: `https://`, or
/// `http://` to this machine only (a simulator, a local proxy); no user
/// information (`user:pass@`, or `http://[::1]@HOST`, which names HOST and
/// would pass a look at the text before the `@`); a host that parses.
pub fn check_api_url(url: &str) -> Result<(), GitHubError> {
    let refuse = |why: &str| {
        Err(GitHubError::Config(format!(
            "--github-url `{url}` {why} (e.g. https://api.github.com, or https://api.SUBDOMAIN.ghe.com for GHE.com)"
        )))
    };
    let Some(scheme) = ["https", "http"].into_iter().find(|s| {
        url.get(..s.len() + 3)
            .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{s}://")))
    }) else {
        return refuse("must start with https://");
    };
    // `@` is never part of a host: whatever precedes it in the authority is
    // user information, and the request would go to what follows it.
    let authority_text = url[scheme.len() + 3..]
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    if authority_text.contains('@') {
        return refuse(
            "holds user information (`...@`): credentials go in GITHUB_TOKEN or --token-file, never in the URL; give the host alone",
        );
    }
    let Ok(uri) = url.parse::<http::Uri>() else {
        return refuse("is not a URL");
    };
    let Some(authority) = uri.authority() else {
        return refuse("has no host");
    };
    if authority.host().is_empty() {
        return refuse("has no host");
    }
    if scheme == "http" && !host_is_loopback(authority.host()) {
        return refuse(
            "is http:// to another host: the token would travel in clear text; use https:// (http:// is accepted for 127.0.0.1, ::1 and localhost only)",
        );
    }
    Ok(())
}

/// Is this URL's host (as parsed, user information refused) loopback:
/// `127.0.0.0/8`, `::1` or `localhost`?
pub fn url_is_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    uri.authority()
        .is_some_and(|a| !a.as_str().contains('@') && host_is_loopback(a.host()))
}

/// `host` as a URL's authority spells it (IPv6 in brackets).
fn host_is_loopback(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl GitHubArgs {
    /// Settings for a client that reaches `url` with `token` (the simulator).
    pub fn for_url(url: &str) -> GitHubArgs {
        GitHubArgs {
            github_url: url.to_string(),
            token_file: None,
            app_id: None,
            app_key_file: None,
            installation_id: None,
            page_concurrency: 4,
            max_concurrent_requests: 8,
            points_per_minute: 900,
            max_rate_limit_wait: 300,
            write_interval_ms: None,
        }
    }

    /// The credentials: `--app-id` + key file, else `--token-file`, else
    /// `token_env` (the value of `GITHUB_TOKEN`).
    pub fn auth(&self, token_env: Option<String>) -> Result<Auth, GitHubError> {
        if let Some(app_id) = self.app_id {
            let key_path = self.app_key_file.as_ref().ok_or_else(|| {
                GitHubError::Config(
                    "--app-id needs --app-key-file (the App's private key, PEM)".into(),
                )
            })?;
            return Ok(Auth::App {
                app_id,
                private_key_pem: SecretString::from(super::client::read_secret(
                    key_path,
                    "GitHub App private key",
                )?),
                installation_id: self.installation_id,
            });
        }
        if let Some(path) = &self.token_file {
            return Ok(Auth::TokenFile(path.clone()));
        }
        match token_env.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
            Some(t) => Ok(Auth::Token(SecretString::from(t))),
            None => Err(GitHubError::Config(
                "no GitHub credentials: set GITHUB_TOKEN or GH_TOKEN (a token with manage_billing:copilot and read:org), or --token-file PATH, or --app-id with --app-key-file".into(),
            )),
        }
    }

    /// The client configuration.
    pub fn config(&self, token_env: Option<String>) -> Result<ClientConfig, GitHubError> {
        refuse_ghes(&self.github_url)?;
        let mut config = ClientConfig::new(self.auth(token_env)?)
            .with_base_url(self.github_url.trim_end_matches('/'));
        config.page_concurrency = self.page_concurrency.max(1);
        config.max_rate_limit_wait = Duration::from_secs(self.max_rate_limit_wait);
        config.throttle.max_concurrent = self.max_concurrent_requests.clamp(1, 100);
        config.throttle.points_per_window = Some(self.points_per_minute.max(1));
        config.throttle.write_interval = self.write_interval_ms.map(Duration::from_millis);
        Ok(config)
    }

    /// A connected client, with the token from `GITHUB_TOKEN` or
    /// `GH_TOKEN` when needed.
    pub async fn client(&self) -> Result<GitHubClient, GitHubError> {
        self.client_with(|_| {}).await
    }

    /// [`GitHubArgs::client`], with the configuration adjusted first.
    pub async fn client_with(
        &self,
        adjust: impl FnOnce(&mut ClientConfig),
    ) -> Result<GitHubClient, GitHubError> {
        super::client::install_crypto_provider();
        let mut config = self.config(token_from_env())?;
        adjust(&mut config);
        GitHubClient::new(config).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_are_parsed_not_pattern_matched() {
        #[rustfmt::skip]
        let cases: &[(&str, Result<(), &str>)] = &[
            ("https://api.github.com", Ok(())),
            ("https://api.acme.ghe.com", Ok(())),
            ("HTTPS://api.github.com", Ok(())),
            ("http://127.0.0.1:8080", Ok(())),
            ("http://127.1.2.3/api", Ok(())),
            ("http://localhost:9/x", Ok(())),
            ("http://[::1]:8080/", Ok(())),
            // The attack: `[::1]` is user information, the host is evil.com.
            ("http://[::1]@evil.com", Err("user information")),
            ("http://[::1]@evil.com:80/api", Err("user information")),
            ("https://[::1]@evil.com", Err("user information")),
            ("http://127.0.0.1@evil.com", Err("user information")),
            ("http://localhost:80@evil.com", Err("user information")),
            ("https://user:pass@api.github.com", Err("user information")),
            ("https://token@api.github.com", Err("user information")),
            ("http://127.0.0.1.evil.com", Err("clear text")),
            ("http://10.0.0.1", Err("clear text")),
            ("http://github.example.com", Err("clear text")),
            ("http://[::2]:8080", Err("clear text")),
            ("ftp://api.github.com", Err("must start with https://")),
            ("api.github.com", Err("must start with https://")),
            ("https://", Err("")),
        ];
        for (url, want) in cases {
            let got = check_api_url(url).map_err(|e| e.to_string());
            match (want, &got) {
                (Ok(()), Ok(())) => {}
                (Err(part), Err(msg)) => assert!(msg.contains(part), "{url}: {msg}"),
                _ => panic!("{url}: got {got:?}, want {want:?}"),
            }
        }
        assert!(url_is_loopback("http://[::1]:1/"));
        assert!(!url_is_loopback("http://[::1]@evil.com"));
        assert!(!url_is_loopback("http://localhost@evil.com"));
    }

    #[test]
    fn ghes_api_roots_are_refused() {
        #[rustfmt::skip]
        let cases = [
            ("https://ghes.example.com/api/v3", false),
            ("https://ghes.example.com/api/v3/", false),
            ("http://127.0.0.1:9/API/V3", false),
            ("https://api.github.com", true),
            ("https://api.acme.ghe.com", true),
            ("http://127.0.0.1:9", true),
            ("https://proxy.example.com/github/api/v3x", true),
        ];
        for (url, ok) in cases {
            let r = refuse_ghes(url);
            assert_eq!(r.is_ok(), ok, "{url}: {r:?}");
            if let Err(e) = r {
                assert!(e.to_string().contains("GHE.com"), "{e}");
            }
        }
    }
}
