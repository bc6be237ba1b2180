//! axum's extractors, with their rejections turned into the API's own
//! `{error, message}` JSON: a client never has to parse a text/plain error.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body: `400 invalid_json` for bad syntax, `415` without a JSON
/// content type, `422 invalid_body` for well-formed JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let (status, code, message) = match rejection {
        JsonRejection::JsonDataError(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "the JSON body does not have the fields and types this route takes",
        ),
        JsonRejection::JsonSyntaxError(_) => (
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body is not valid JSON",
        ),
        JsonRejection::MissingJsonContentType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "the body could not be read",
        ),
    };
    ApiError::Rejected {
        status,
        code,
        message,
    }
}

/// Path parameters: `400 invalid_path` when they do not decode (invalid
/// percent-encoding or UTF-8; the routes' parameters are all strings, so
/// that is the only way they fail).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(_) => Err(ApiError::Rejected {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_path",
                message: "a path parameter is not valid percent-encoded UTF-8",
            }),
        }
    }
}

/// Query parameters: `400 invalid_query` when they do not parse.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(_) => Err(ApiError::Rejected {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_query",
                message: "the query string does not have the parameters this route takes",
            }),
        }
    }
}
