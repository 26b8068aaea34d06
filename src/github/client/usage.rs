//! [`UsageApi`] and [`IdentityApi`] for the real client.

use async_trait::async_trait;
use http::StatusCode;

use super::{AuthMode, GitHubClient, Req, seg};
use crate::config::Scope;
use crate::github::GitHubError;
use crate::github::usage::{IdentityApi, UsageApi, UsageRead, credits_in};

#[async_trait]
impl UsageApi for GitHubClient {
    async fn ai_credit_usage(
        &self,
        scope: &Scope,
        login: Option<&str>,
        year: i32,
        month: u32,
    ) -> Result<UsageRead, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let mut query = format!("year={year}&month={month}");
        if let Some(l) = login {
            query.push_str(&format!("&user={}", seg(l)));
        }
        let req = match scope {
            Scope::Org(o) => Req::get(
                "/organizations/{org}/settings/billing/ai_credit/usage",
                format!(
                    "/organizations/{}/settings/billing/ai_credit/usage?{query}",
                    seg(o)
                ),
            ),
            Scope::Enterprise(e) => Req::get(
                "/enterprises/{enterprise}/settings/billing/ai_credit/usage",
                format!(
                    "/enterprises/{}/settings/billing/ai_credit/usage?{query}",
                    seg(e)
                ),
            ),
        };
        let resp = self.send(&crab, &req).await?;
        match resp.status {
            s if s.is_success() => {}
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                return Ok(UsageRead::Unavailable(format!(
                    "{} answered {} ({}): reading AI-credit use needs an administrator's token (fine-grained: the \"Administration\" read permission of the {})",
                    req.route,
                    resp.status.as_u16(),
                    resp.message(),
                    match scope {
                        Scope::Org(_) => "organization",
                        Scope::Enterprise(_) => "enterprise",
                    }
                )));
            }
            _ => return Err(self.status_error(&req, &resp, Some(scope))),
        }
        let body: serde_json::Value = resp.json(req.route)?;
        credits_in(&body)
            .map(UsageRead::Credits)
            .ok_or_else(|| GitHubError::Decode {
                route: req.route.to_string(),
                message: "no usageItems array".into(),
            })
    }
}

#[derive(serde::Deserialize)]
struct Named {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    slug: Option<String>,
}

#[async_trait]
impl IdentityApi for GitHubClient {
    async fn own_login(&self) -> Result<String, GitHubError> {
        // An App acts through installation tokens, which `GET /user` refuses;
        // the App itself (its JWT) names its slug, and GitHub shows what the
        // installation writes as `{slug}[bot]`.
        if let AuthMode::App(app) = &self.inner.auth {
            let jwt = self.jwt_crab(app)?;
            let req = Req::get("/app", "/app".to_string());
            let resp = self.send(&jwt, &req).await?;
            if !resp.status.is_success() {
                return Err(self.status_error(&req, &resp, None));
            }
            let app: Named = resp.json(req.route)?;
            let slug = app.slug.ok_or_else(|| GitHubError::Decode {
                route: req.route.to_string(),
                message: "no slug".into(),
            })?;
            return Ok(format!("{slug}[bot]"));
        }
        let crab = self.crab_for(None).await?;
        let req = Req::get("/user", "/user".to_string());
        let resp = self.send(&crab, &req).await?;
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, None));
        }
        let me: Named = resp.json(req.route)?;
        me.login.ok_or_else(|| GitHubError::Decode {
            route: req.route.to_string(),
            message: "no login".into(),
        })
    }
}
