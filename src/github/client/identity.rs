//! Who seatkeeper itself is on GitHub: the login its pull requests,
//! issues and comments are authored by. With a token, `GET /user`; with a
//! GitHub App, `GET /app` (the App's JWT) gives the slug, and GitHub names
//! the App's installation `{slug}[bot]` as the author of what it writes.

use serde::Deserialize;

use super::{AuthMode, GitHubClient, Req};
use crate::github::GitHubError;

#[derive(Deserialize)]
struct LoginJson {
    login: String,
}

#[derive(Deserialize)]
struct AppJson {
    slug: String,
}

impl GitHubClient {
    /// The login seatkeeper's writes are authored by: the token's user, or
    /// `{slug}[bot]` for a GitHub App.
    pub(super) async fn read_own_login(&self) -> Result<String, GitHubError> {
        if let AuthMode::App(app) = &self.inner.auth {
            let jwt = self.jwt_crab(app)?;
            let req = Req::get("/app", "/app".to_string());
            let resp = self.send(&jwt, &req).await?;
            if !resp.status.is_success() {
                return Err(self.status_error(&req, &resp, None));
            }
            let app: AppJson = resp.json(req.route)?;
            return Ok(format!("{}[bot]", app.slug));
        }
        let crab = self.crab_for(None).await?;
        let req = Req::get("/user", "/user".to_string());
        let resp = self.send(&crab, &req).await?;
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, None));
        }
        let me: LoginJson = resp.json(req.route)?;
        Ok(me.login)
    }
}
