//! Who the caller is: `GET /user` (the token's user, the simulator's
//! [`super::SimState::viewer`]) and `GET /app` (the App itself, with its
//! JWT). An installation token is refused by `GET /user` as GitHub refuses
//! integrations there: 403 "Resource not accessible by integration".

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::server::{ApiError, ApiResult, Shared, json_response};

const DOC_USER: &str = "https://docs.github.com/rest/users/users#get-the-authenticated-user";

/// `GET /user`: a user token from the web application flow (the portal's
/// sign-in) is answered by [`super::oauth`]; an installation token is no
/// user (GitHub: 403 "Resource not accessible by integration"); the static
/// token (checked by the pipeline) is the simulator's viewer.
pub(crate) async fn authenticated_user(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if super::oauth::user_token_login(&sh, &headers).is_some() {
        return super::oauth::authenticated_user(State(sh), headers).await;
    }
    if super::server::is_installation_token(&sh, &headers) {
        return ApiError::new(403, "Resource not accessible by integration", DOC_USER)
            .into_response();
    }
    let viewer = sh.state().viewer.clone();
    json_response(StatusCode::OK, &super::json::public_user(sh.api(), &viewer))
}

/// `GET /app` with the App's JWT: the App, with its slug.
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
