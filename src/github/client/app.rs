//! GitHub App authentication: a JWT signed with the App's key is exchanged
//! for installation tokens, minted per installation and renewed before
//! they expire.

use super::*;

/// GitHub App credentials and the installation clients minted so far.
pub(super) struct AppAuth {
    pub(super) app_id: u64,
    pub(super) key: AppKey,
    /// The installation given by the operator; else one is discovered per org.
    pub(super) installation_id: Option<u64>,
    /// Installation clients by org, lowercase (`""` for the configured
    /// installation id).
    pub(super) installations: tokio::sync::Mutex<HashMap<String, Installation>>,
}

/// One installation and a client carrying its current token.
pub(super) struct Installation {
    id: u64,
    crab: Arc<Octocrab>,
    /// When to mint the next token: [`TOKEN_RENEW_BEFORE`] ahead of its expiry.
    renew_at: SystemTime,
}

/// Installation tokens live an hour; a new one is minted this long before
/// the old one expires, so no request carries a token about to lapse.
const TOKEN_RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The route of the installation-token exchange.
const ACCESS_TOKENS_ROUTE: &str = "/app/installations/{installation_id}/access_tokens";

#[derive(Deserialize)]
struct AccessTokenJson {
    token: String,
    expires_at: Option<String>,
}

#[derive(Deserialize)]
struct InstallationJson {
    id: u64,
}

impl GitHubClient {
    /// The octocrab client that carries the right credentials for `org`:
    /// for an App, its installation's client, with a token minted (or
    /// renewed) when needed.
    pub(super) async fn crab_for(&self, org: Option<&str>) -> Result<Arc<Octocrab>, GitHubError> {
        let app = match &self.inner.auth {
            AuthMode::Fixed(crab) => return Ok(Arc::clone(crab)),
            AuthMode::Rotating(r) => return Ok(r.current()),
            AuthMode::App(app) => app,
        };
        let mut known = app.installations.lock().await;
        let key = match (app.installation_id, org) {
            (Some(_), _) => String::new(),
            (None, Some(org)) => org.to_ascii_lowercase(),
            (None, None) => known.keys().next().cloned().ok_or_else(|| {
                GitHubError::Config(
                    "GitHub App auth without an installation id needs an organization to find the installation: set the installation id (--app-installation-id)".into(),
                )
            })?,
        };
        if let Some(i) = known.get(&key)
            && SystemTime::now() < i.renew_at
        {
            return Ok(Arc::clone(&i.crab));
        }
        let id = match (app.installation_id, known.get(&key), org) {
            (Some(id), _, _) => id,
            (None, Some(i), _) => i.id,
            (None, None, Some(org)) => self.discover_installation(app, org).await?,
            (None, None, None) => unreachable!("the key came from a known installation"),
        };
        let installation = self.mint_installation_token(app, id).await?;
        let crab = Arc::clone(&installation.crab);
        known.insert(key, installation);
        Ok(crab)
    }

    /// A client authenticated as the App itself (a fresh JWT).
    pub(super) fn jwt_crab(&self, app: &AppAuth) -> Result<Octocrab, GitHubError> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let jwt = app
            .key
            .app_jwt(app.app_id, now)
            .map_err(|e| GitHubError::Config(format!("cannot sign the GitHub App JWT: {e}")))?;
        build_crab(&self.inner.base_url, jwt)
    }

    /// `GET /orgs/{org}/installation` with the App's JWT: the installation id.
    async fn discover_installation(&self, app: &AppAuth, org: &str) -> Result<u64, GitHubError> {
        let jwt = self.jwt_crab(app)?;
        let req = Req::get(
            "/orgs/{org}/installation",
            format!("/orgs/{}/installation", seg(org)),
        );
        let resp = self.send(&jwt, &req).await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Err(GitHubError::Config(format!(
                "the GitHub App is not installed on organization `{org}` (GET /orgs/{{org}}/installation answered 404): install it there, or set --app-installation-id"
            )));
        }
        if resp.status == StatusCode::UNAUTHORIZED {
            return Err(GitHubError::Config(format!(
                "GitHub rejected the App's JWT (401 {}): check the App id and that the private key is the App's current key",
                resp.message()
            )));
        }
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, None));
        }
        let installation: InstallationJson = resp.json(req.route)?;
        tracing::info!(
            org,
            installation_id = installation.id,
            "found the GitHub App installation"
        );
        Ok(installation.id)
    }

    /// `POST /app/installations/{id}/access_tokens` with the App's JWT: a
    /// client carrying the new installation token.
    async fn mint_installation_token(
        &self,
        app: &AppAuth,
        id: u64,
    ) -> Result<Installation, GitHubError> {
        let jwt = self.jwt_crab(app)?;
        let req = Req {
            method: Method::POST,
            route: ACCESS_TOKENS_ROUTE,
            path: format!("/app/installations/{id}/access_tokens"),
            body: None,
            if_none_match: None,
        };
        let resp = self.send(&jwt, &req).await?;
        if !resp.status.is_success() {
            return Err(GitHubError::Config(format!(
                "GitHub refused the App's installation token request ({} {}): check the App id, that the private key is the App's current key, and the installation id",
                resp.status.as_u16(),
                resp.message()
            )));
        }
        let minted: AccessTokenJson = resp.json(req.route)?;
        let now = SystemTime::now();
        let expires = minted
            .expires_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| u64::try_from(t.timestamp()).ok())
            .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            // GitHub's tokens last an hour; assume so when it does not say.
            .unwrap_or(now + Duration::from_secs(3600));
        let renew_at = expires
            .checked_sub(TOKEN_RENEW_BEFORE)
            .filter(|t| *t > now)
            .unwrap_or(now);
        tracing::info!(
            installation_id = id,
            "minted a GitHub App installation token"
        );
        Ok(Installation {
            id,
            crab: Arc::new(build_crab(&self.inner.base_url, minted.token)?),
            renew_at,
        })
    }

    pub(super) async fn crab_for_scope(&self, scope: &Scope) -> Result<Arc<Octocrab>, GitHubError> {
        match scope {
            Scope::Org(org) => self.crab_for(Some(org)).await,
            Scope::Enterprise(e) => match &self.inner.auth {
                AuthMode::Fixed(_)
                | AuthMode::Rotating(_)
                | AuthMode::App(AppAuth {
                    installation_id: Some(_),
                    ..
                }) => self.crab_for(None).await,
                AuthMode::App(_) => Err(GitHubError::Config(format!(
                    "GitHub App auth for enterprise `{e}` needs the installation id: set --app-installation-id (the App's installation on the enterprise)"
                ))),
            },
        }
    }
}
