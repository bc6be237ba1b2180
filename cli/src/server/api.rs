//! The sync service's HTTP API as the tool uses it: the backend's calls
//! with the tenant's API key, and the device's one call with a capture
//! token. Blocking, bounded by a timeout, JSON in and out.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::exit::{Exit, Failure};

/// Every request, connection included, ends within this.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read: the service's answers are a few KiB.
const MAX_REPLY: u64 = 1 << 20;

/// Why a call gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the server could not be reached: {0}")]
    Network(String),
    /// The server answered with an error: its status and `{error, message}`.
    #[error("the server refused the request ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server's answer was not understood ({status}): {detail}")]
    BadReply { status: u16, detail: String },
    #[error("invalid server address: {0}")]
    BadUrl(String),
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        let code = match &error {
            ApiError::Network(_) => "network".to_owned(),
            ApiError::Refused { code, .. } => code.clone(),
            ApiError::BadReply { .. } => "bad_reply".to_owned(),
            ApiError::BadUrl(_) => return Failure::usage("invalid_server", error.to_string()),
        };
        Failure::new(Exit::Server, code, error.to_string())
    }
}

/// The tenant's key bundle: what a device needs to seal for the tenant.
#[derive(Debug, Deserialize)]
pub struct Bundle {
    pub tenant_id: String,
    pub key_id: String,
    pub public_key: String,
    pub template: TemplateParams,
    /// The liveness level the tenant requires of devices.
    pub liveness_level: String,
}

#[derive(Debug, Deserialize)]
pub struct TemplateParams {
    pub m: u16,
    pub q: u16,
    pub key_version: u32,
}

/// A challenge issued for one subject and purpose.
#[derive(Debug, Deserialize)]
pub struct Challenge {
    pub challenge_id: String,
    pub nonce: String,
    pub expires_at: i64,
    pub capture_token: Option<String>,
}

/// What became of a challenge, as the backend reads it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ChallengeStatus {
    pub status: String,
    pub outcome: Option<String>,
    pub matched: Option<bool>,
}

/// The answer to the device's envelope: a receipt, or the server's refusal.
#[derive(Debug)]
pub enum Posted {
    Receipt {
        status: String,
    },
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

pub struct SyncClient {
    base: String,
    agent: ureq::Agent,
    api_key: String,
}

impl SyncClient {
    pub fn new(server: &str, api_key: &str) -> Result<Self, ApiError> {
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ApiError::BadUrl(
                "it must start with http:// or https://".into(),
            ));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            // Error statuses are answers to read, not transport failures.
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self {
            base,
            agent,
            api_key: api_key.to_owned(),
        })
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.api_key)
    }

    pub fn bundle(&self) -> Result<Bundle, ApiError> {
        let r = self
            .agent
            .get(format!("{}/v1/bundle", self.base))
            .header("Authorization", self.bearer())
            .call();
        parse(expect_ok(reply(r)?)?)
    }

    pub fn create_subject(&self, subject_id: &str) -> Result<Value, ApiError> {
        self.post_json(
            "/v1/subjects",
            &serde_json::json!({ "subject_id": subject_id }),
        )
    }

    pub fn grant_consent(
        &self,
        subject_id: &str,
        purpose: &str,
        text_version: &str,
    ) -> Result<Value, ApiError> {
        let path = format!("/v1/subjects/{}/consents", segment(subject_id));
        self.post_json(
            &path,
            &serde_json::json!({ "purpose": purpose, "text_version": text_version }),
        )
    }

    pub fn challenge(
        &self,
        purpose: &str,
        subject_id: &str,
        replace: bool,
    ) -> Result<Challenge, ApiError> {
        let mut body = serde_json::json!({ "purpose": purpose, "subject_id": subject_id });
        if replace {
            body["replace"] = Value::Bool(true);
        }
        parse(self.post_json("/v1/challenges", &body)?)
    }

    pub fn challenge_status(&self, challenge_id: &str) -> Result<ChallengeStatus, ApiError> {
        let r = self
            .agent
            .get(format!(
                "{}/v1/challenges/{}",
                self.base,
                segment(challenge_id)
            ))
            .header("Authorization", self.bearer())
            .call();
        parse(expect_ok(reply(r)?)?)
    }

    /// The device's request: the envelope with the capture token alone,
    /// never the API key.
    pub fn post_envelope(
        &self,
        route: &str,
        capture_token: &str,
        envelope: &[u8],
    ) -> Result<Posted, ApiError> {
        let r = self
            .agent
            .post(format!("{}{route}", self.base))
            .header("Authorization", format!("Capture {capture_token}"))
            .header("Content-Type", "application/octet-stream")
            .send(envelope);
        match expect_ok(reply(r)?) {
            Ok(v) => Ok(Posted::Receipt {
                status: v["status"].as_str().unwrap_or("").to_owned(),
            }),
            // 4xx: the server decided against the envelope; 5xx: it failed.
            Err(ApiError::Refused {
                status,
                code,
                message,
            }) if (400..500).contains(&status) => Ok(Posted::Refused {
                status,
                code,
                message,
            }),
            Err(e) => Err(e),
        }
    }

    fn post_json(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", self.bearer())
            .header("Content-Type", "application/json")
            .send(body.to_string());
        expect_ok(reply(r)?)
    }
}

/// Percent-encodes a path segment (ids are the caller's, any UTF-8).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A status and its body, read within the size bound.
fn reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, String), ApiError> {
    let mut response = result.map_err(|e| ApiError::Network(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REPLY)
        .read_to_string()
        .map_err(|e| ApiError::Network(e.to_string()))?;
    Ok((status, body))
}

/// The body as JSON when the status is a success, else the server's error.
fn expect_ok((status, body): (u16, String)) -> Result<Value, ApiError> {
    let value: Option<Value> = serde_json::from_str(&body).ok();
    if (200..300).contains(&status) {
        return value.ok_or(ApiError::BadReply {
            status,
            detail: "not JSON".into(),
        });
    }
    let field = |name: &str| {
        value
            .as_ref()
            .and_then(|v| v[name].as_str())
            .map(str::to_owned)
    };
    Err(ApiError::Refused {
        status,
        code: field("error").unwrap_or_else(|| format!("http_{status}")),
        message: field("message").unwrap_or_else(|| "no message".into()),
    })
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::BadReply {
        status: 200,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// Answers one request on a loopback port with `reply` and returns the
    /// request's head and body as received.
    fn one_request(reply: &'static str) -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push_str(&line);
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            )
            .unwrap();
            (head, body)
        });
        (url, handle)
    }

    #[test]
    fn the_envelope_goes_with_the_capture_token_and_never_the_api_key() {
        let (url, server) = one_request(r#"{"challenge_id":"c1","status":"decided"}"#);
        let client = SyncClient::new(&url, "fsk_handle_secret").unwrap();
        let posted = client
            .post_envelope("/v1/verifications", "fsc_c1_token", b"sealed bytes")
            .unwrap();
        assert!(matches!(posted, Posted::Receipt { status } if status == "decided"));
        let (head, body) = server.join().unwrap();
        assert!(head.starts_with("POST /v1/verifications "), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("authorization: capture fsc_c1_token\r\n"),
            "{head}"
        );
        assert!(!head.contains("fsk_"), "the API key leaked: {head}");
        assert_eq!(body, b"sealed bytes");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("a b/../é"), "a%20b%2F..%2F%C3%A9");
    }
}
