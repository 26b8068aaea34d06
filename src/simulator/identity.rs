//! Who the caller is: `GET /user` (the authenticated user: the
//! [`super::state::SimState::viewer`], for the static token) and `GET /app`
//! (the App itself, with its JWT). seatkeeper reads its own identity from
//! these to tell its own pull requests from anyone else's.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::json::simple_user;
use super::server::{ApiError, ApiResult, Shared, json_response};

const DOC_USER: &str = "https://docs.github.com/rest/users/users#get-the-authenticated-user";

/// `GET /user`. An installation token is no user: GitHub answers 403
/// "Resource not accessible by integration".
pub(crate) async fn get_user(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> ApiResult {
    if super::server::is_installation_token(&sh, &headers) {
        return Err(ApiError::new(
            403,
            "Resource not accessible by integration",
            DOC_USER,
        ));
    }
    let login = sh.state().viewer.clone();
    Ok(json_response(
        StatusCode::OK,
        &simple_user(sh.api(), &login),
    ))
}

/// `GET /app` with the App's JWT: the App, with its slug.
pub(crate) async fn get_app(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> ApiResult {
    let app = super::server::verify_jwt(&sh, &headers)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id": app.app_id,
            "slug": app.slug,
            "client_id": app.client_id,
            "name": app.slug,
            "owner": simple_user(sh.api(), &sh.state().viewer),
        }),
    ))
}
