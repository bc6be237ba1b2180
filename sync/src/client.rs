//! A small HTTP/1.1 client over one keep-alive connection, for the
//! benchmark, the tests and the examples. Not a general-purpose client.

use std::net::SocketAddr;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use thiserror::Error;
use tokio::net::TcpStream;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("invalid request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("response is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A request body.
pub enum Body {
    Empty,
    Json(serde_json::Value),
    Octets(Vec<u8>),
}

/// A response, read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Result<serde_json::Value, ClientError> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// The error code of a JSON error body, if any.
    pub fn error_code(&self) -> Option<String> {
        self.json().ok()?.get("error")?.as_str().map(str::to_owned)
    }
}

/// One connection to the service; reconnects if the server closed it.
pub struct HttpClient {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> HttpClient {
        HttpClient { addr, sender: None }
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, ClientError> {
        let usable = self.sender.as_ref().is_some_and(|s| !s.is_closed());
        if !usable {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Body,
    ) -> Result<Reply, ClientError> {
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        self.request_authorized(method, path, authorization.as_deref(), body)
            .await
    }

    /// A request with a whole `Authorization` header value (e.g. a device's
    /// `Capture <token>`).
    pub async fn request_authorized(
        &mut self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Body,
    ) -> Result<Reply, ClientError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.addr.to_string());
        if let Some(value) = authorization {
            builder = builder.header(hyper::header::AUTHORIZATION, value);
        }
        let (content_type, bytes) = match body {
            Body::Empty => (None, Bytes::new()),
            Body::Json(v) => (
                Some("application/json"),
                Bytes::from(serde_json::to_vec(&v)?),
            ),
            Body::Octets(b) => (Some("application/octet-stream"), Bytes::from(b)),
        };
        if let Some(ct) = content_type {
            builder = builder.header(hyper::header::CONTENT_TYPE, ct);
        }
        let request = builder.body(Full::new(bytes))?;
        let sender = self.connect().await?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&mut self, path: &str, bearer: Option<&str>) -> Result<Reply, ClientError> {
        self.request(Method::GET, path, bearer, Body::Empty).await
    }

    pub async fn post_json(
        &mut self,
        path: &str,
        bearer: Option<&str>,
        json: serde_json::Value,
    ) -> Result<Reply, ClientError> {
        self.request(Method::POST, path, bearer, Body::Json(json))
            .await
    }

    pub async fn post_octets(
        &mut self,
        path: &str,
        bearer: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<Reply, ClientError> {
        self.request(Method::POST, path, bearer, Body::Octets(bytes))
            .await
    }

    pub async fn delete(&mut self, path: &str, bearer: Option<&str>) -> Result<Reply, ClientError> {
        self.request(Method::DELETE, path, bearer, Body::Empty)
            .await
    }
}
