//! The UI's side of the server's token: asked once on a login form, then kept in an HttpOnly,
//! SameSite=Strict cookie. Every UI request must carry it (or the API's bearer header), and
//! every form post must come from this origin.

use axum::body::Bytes;
use axum::extract::{RawQuery, Request};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::html::{self, Params};
use super::{render, see_other, UiError, UiResult};

const COOKIE: &str = "weir_token";

pub async fn guard(token: Option<String>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET && !same_origin(request.headers()) {
        return UiError {
            status: StatusCode::FORBIDDEN,
            message: "this form was sent from another site".to_owned(),
        }
        .into_response();
    }
    let Some(expected) = token else {
        return next.run(request).await;
    };
    if presented_tokens(request.headers()).any(|given| constant_time_eq(given, &expected)) {
        return next.run(request).await;
    }
    if request.method() == Method::GET {
        let wanted = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let target = format!("/login{}", html::query(&[("next", wanted)]));
        return see_other(Some(&target), "/login");
    }
    UiError {
        status: StatusCode::UNAUTHORIZED,
        message: "sign in first: this server needs its token".to_owned(),
    }
    .into_response()
}

/// A browser sends `Origin` on cross-site posts (and `Sec-Fetch-Site`); either one naming
/// another site is refused. Clients that send neither (curl, tests) are not browsers.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" || site == "same-site" {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    origin_host == Some(host)
}

fn presented_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let cookies = headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("weir_token="));
    bearer.into_iter().chain(cookies)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    next: &'a str,
    failed: bool,
    auth_enabled: bool,
}

pub fn routes(token: Option<String>) -> Router {
    let enabled = token.is_some();
    Router::new()
        .route(
            "/login",
            get(move |query: RawQuery| login_form(enabled, query))
                .post(move |headers, body| login(token.clone(), headers, body)),
        )
        .route("/logout", post(logout))
}

async fn login_form(auth_enabled: bool, RawQuery(query): RawQuery) -> UiResult {
    let params = Params::from_query(query);
    render(&LoginPage {
        next: params.get("next").unwrap_or("/runs"),
        failed: false,
        auth_enabled,
    })
}

async fn login(token: Option<String>, headers: HeaderMap, body: Bytes) -> UiResult {
    if !same_origin(&headers) {
        return Err(UiError::bad_request("this form was sent from another site"));
    }
    let params = Params::from_body(&body);
    let next = params.get("next").unwrap_or("/runs");
    let Some(expected) = token else {
        return Ok(see_other(Some(next), "/runs"));
    };
    let given = params.get("token").unwrap_or_default();
    if !constant_time_eq(given, &expected) {
        let mut response = render(&LoginPage {
            next,
            failed: true,
            auth_enabled: true,
        })?;
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(response);
    }
    // The token is opaque text from the server's own configuration; cookie values may not hold
    // `;`, `,`, spaces or quotes, which a token could, so those tokens cannot be kept this way.
    if !given
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
    {
        return Err(UiError::bad_request(
            "this token has characters a cookie cannot hold; use the API with a bearer header",
        ));
    }
    let cookie = format!("{COOKIE}={given}; Path=/; HttpOnly; SameSite=Strict");
    let mut response = see_other(Some(next), "/runs");
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn logout() -> Response {
    let mut response = see_other(Some("/login"), "/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        header::HeaderValue::from_static(
            "weir_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (key, value) in pairs {
            map.append(*key, value.parse().expect("valid header value"));
        }
        map
    }

    #[test]
    fn the_cookie_or_the_bearer_header_carries_the_token() {
        let from_cookie = headers(&[("cookie", "a=b; weir_token=s3cret; c=d")]);
        assert_eq!(
            presented_tokens(&from_cookie).collect::<Vec<_>>(),
            ["s3cret"]
        );
        let from_header = headers(&[("authorization", "Bearer s3cret")]);
        assert_eq!(
            presented_tokens(&from_header).collect::<Vec<_>>(),
            ["s3cret"]
        );
    }

    #[test]
    fn posts_from_other_sites_are_refused() {
        assert!(same_origin(&headers(&[])));
        assert!(same_origin(&headers(&[
            ("origin", "http://127.0.0.1:8888"),
            ("host", "127.0.0.1:8888")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8888")
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
    }
}
