//! [`UsageApi`] and [`IdentityApi`] for the real client.

use async_trait::async_trait;
use http::StatusCode;

use super::{GitHubClient, Req, seg};
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

#[async_trait]
impl IdentityApi for GitHubClient {
    async fn own_login(&self) -> Result<String, GitHubError> {
        // One identity read for reclaim and PR mode: `client/identity.rs`.
        self.read_own_login().await
    }
}
