//! Who the caller is: `GET /user` (the token's user, the simulator's
//! [`super::SimState::viewer`]) and `GET /app` (the App itself, with its
//! JWT). An installation token is refused by `GET /user` as GitHub refuses
//! integrations there: 403 "Resource not accessible by integration".

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::server::ApiResult;
use super::server::{ApiError, Shared, json_response, lock};

/// `GET` the authenticated user.
pub const AUTHENTICATED_USER: &str = "/user";
/// `GET` the authenticated App (JWT).
pub const APP: &str = "/app";

const DOC_USER: &str = "https://docs.github.com/rest/users/users#get-the-authenticated-user";

pub(crate) async fn authenticated_user(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
) -> ApiResult {
    let token = super::server::header_str(&headers, "authorization")
        .and_then(|v| v.trim().split_once(' '))
        .map(|(_, t)| t.trim().to_string())
        .unwrap_or_default();
    if token != sh.opts.token && lock(&sh.tokens).contains_key(&token) {
        return Err(ApiError::new(
            403,
            "Resource not accessible by integration",
            DOC_USER,
        ));
    }
    let viewer = sh.state().viewer.clone();
    Ok(json_response(
        StatusCode::OK,
        &super::json::public_user(sh.api(), &viewer),
    ))
}

pub(crate) async fn app(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> ApiResult {
    let app = super::server::verify_jwt(&sh, &headers)?;
    let st = sh.state();
    let api = sh.api();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id": app.app_id,
            "slug": app.slug,
            "client_id": app.client_id,
            "node_id": format!("A_{}", app.app_id),
            "owner": super::json::org_account(api, &st),
            "name": app.slug,
            "description": "",
            "external_url": "https://example.com",
            "html_url": format!("https://github.com/apps/{}", app.slug),
            "created_at": "2023-11-14T22:13:20Z",
            "updated_at": "2023-11-14T22:13:20Z",
            "permissions": {"organization_copilot_seat_management": "write", "contents": "write", "issues": "write", "pull_requests": "write"},
            "events": [],
        }),
    ))
}
