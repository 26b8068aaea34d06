//! [`Fenced`]: a [`SeatApi`] whose every write call (one batch) is preceded
//! by [`Elector::fence`], budget writes included. Reads pass straight through. A refused fence is an
//! error of the batch, so the reconcile records its changes as failed and
//! sends nothing more (an earlier write failed: the rest are skipped).

use async_trait::async_trait;

use super::Elector;
use crate::config::Scope;
use crate::github::budgets::{BudgetApi, LiveBudget};
use crate::github::{
    BillingInfo, GitHubError, LiveState, LiveUser, Membership, SeatApi, SeatTotals, WriteReport,
};

/// `inner`, with writes fenced by `elector` for a plan made in `term`.
pub struct Fenced<'a> {
    /// The real API.
    pub inner: &'a dyn SeatApi,
    /// The election this replica takes part in.
    pub elector: &'a Elector,
    /// The leadership term the reconcile started in.
    pub term: u64,
}

impl Fenced<'_> {
    /// The inner budgets API ([`SeatApi::budgets`] offers `self` only when
    /// the inner API has one).
    fn inner_budgets(&self) -> Result<&dyn BudgetApi, GitHubError> {
        self.inner
            .budgets()
            .ok_or_else(|| GitHubError::Config("this GitHub client has no budgets API".into()))
    }

    async fn fence(&self, what: &str) -> Result<(), GitHubError> {
        match self.elector.fence(self.term).await {
            Ok(generation) => {
                tracing::debug!(generation, what, "fenced write batch");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(
                    identity = %self.elector.identity(),
                    term = self.term,
                    error = %e,
                    what,
                    "write batch not sent: fencing refused it"
                );
                Err(GitHubError::Config(format!(
                    "not written: leader fencing refused the batch ({e})"
                )))
            }
        }
    }
}

#[async_trait]
impl SeatApi for Fenced<'_> {
    async fn billing(&self, scope: &Scope) -> Result<BillingInfo, GitHubError> {
        self.inner.billing(scope).await
    }

    async fn list_seats(&self, scope: &Scope) -> Result<LiveState, GitHubError> {
        self.inner.list_seats(scope).await
    }

    async fn add_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.fence("add_users").await?;
        self.inner.add_users(scope, logins).await
    }

    async fn remove_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.fence("remove_users").await?;
        self.inner.remove_users(scope, logins).await
    }

    async fn add_teams(&self, scope: &Scope, teams: &[String]) -> Result<WriteReport, GitHubError> {
        self.fence("add_teams").await?;
        self.inner.add_teams(scope, teams).await
    }

    async fn remove_teams(
        &self,
        scope: &Scope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.fence("remove_teams").await?;
        self.inner.remove_teams(scope, teams).await
    }

    async fn membership(&self, org: &str, login: &str) -> Result<Membership, GitHubError> {
        self.inner.membership(org, login).await
    }

    async fn team_members(
        &self,
        scope: &Scope,
        slug: &str,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        self.inner.team_members(scope, slug).await
    }

    async fn user_exists(&self, login: &str) -> Result<bool, GitHubError> {
        self.inner.user_exists(login).await
    }

    async fn list_members(&self, org: &str) -> Result<Vec<String>, GitHubError> {
        self.inner.list_members(org).await
    }

    async fn list_members_within(
        &self,
        org: &str,
        max_pages: usize,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        self.inner.list_members_within(org, max_pages).await
    }

    async fn user_seat(&self, scope: &Scope, login: &str) -> Result<Option<LiveUser>, GitHubError> {
        self.inner.user_seat(scope, login).await
    }

    async fn seat_totals(&self, scope: &Scope) -> Result<SeatTotals, GitHubError> {
        self.inner.seat_totals(scope).await
    }

    async fn in_team(
        &self,
        scope: &Scope,
        slug: &str,
        login: &str,
    ) -> Result<Option<bool>, GitHubError> {
        self.inner.in_team(scope, slug, login).await
    }

    async fn idp_group(&self, scope: &Scope, slug: &str) -> Result<Option<String>, GitHubError> {
        self.inner.idp_group(scope, slug).await
    }

    async fn add_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.fence("add_team_members").await?;
        self.inner.add_team_members(scope, team, logins).await
    }

    async fn remove_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.fence("remove_team_members").await?;
        self.inner.remove_team_members(scope, team, logins).await
    }

    // Budget writes are writes too: fenced the same way, one request each.
    fn budgets(&self) -> Option<&dyn BudgetApi> {
        self.inner.budgets().map(|_| self as &dyn BudgetApi)
    }
}

#[async_trait]
impl BudgetApi for Fenced<'_> {
    async fn list_budgets(&self, scope: &Scope) -> Result<Vec<LiveBudget>, GitHubError> {
        self.inner_budgets()?.list_budgets(scope).await
    }

    async fn create_budget(
        &self,
        scope: &Scope,
        login: Option<&str>,
        amount: u64,
    ) -> Result<LiveBudget, GitHubError> {
        self.fence("create_budget").await?;
        self.inner_budgets()?
            .create_budget(scope, login, amount)
            .await
    }

    async fn update_budget(&self, scope: &Scope, id: &str, amount: u64) -> Result<(), GitHubError> {
        self.fence("update_budget").await?;
        self.inner_budgets()?.update_budget(scope, id, amount).await
    }

    async fn delete_budget(&self, scope: &Scope, id: &str) -> Result<(), GitHubError> {
        self.fence("delete_budget").await?;
        self.inner_budgets()?.delete_budget(scope, id).await
    }
}
