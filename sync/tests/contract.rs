//! The HTTP contract: every error is `{error, message}` JSON, including the
//! ones axum would answer in text (JSON syntax, media type, body shape,
//! path decoding, methods), and identifiers have one canonical form and no
//! deceptive characters.

mod common;

use common::*;
use faceseal_sync::client::Body;
use hyper::{Method, StatusCode};
use serde_json::json;

#[track_caller]
fn json_error(r: &faceseal_sync::client::Reply, status: StatusCode, code: &str) {
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{:?}",
        r.body
    );
    refused(r, status, code);
    assert!(r.json().unwrap()["message"].is_string());
}

#[tokio::test]
async fn every_refusal_of_the_http_layer_is_json() {
    let s = TestServer::start(Backend::Sqlite).await;
    let t = s.tenant("acme", json!({})).await;
    let mut c = s.client();
    subject(&mut c, &t, "alice", &[]).await;
    let raw = |body: &[u8]| Body::Octets(body.to_vec());

    // A NUL byte, truncated JSON: syntax.
    for body in [
        &b"\0"[..],
        b"{\"subject_id\":",
        b"{\"subject_id\": \"a\"\0}",
    ] {
        let r = c
            .request_authorized(
                Method::POST,
                "/v1/subjects",
                Some(&format!("Bearer {}", t.api_key)),
                raw(body),
            )
            .await
            .unwrap();
        // Sent as octets: the media type is what is refused first.
        json_error(
            &r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    let send_json_bytes = async |body: &[u8]| {
        let request = hyper::Request::builder()
            .method(Method::POST)
            .uri("/v1/subjects")
            .header("host", "x")
            .header("authorization", format!("Bearer {}", t.api_key))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(axum::body::Bytes::from(
                body.to_vec(),
            )))
            .unwrap();
        let stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        use http_body_util::BodyExt;
        faceseal_sync::client::Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    };
    for body in [
        &b"\0"[..],
        b"{\"subject_id\":",
        b"{\"subject_id\": \"a\"\0}",
        b"\xff\xfe",
    ] {
        json_error(
            &send_json_bytes(body).await,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        );
    }
    // Well-formed JSON of the wrong shape.
    for body in [
        &br#"{"subject_id": 5}"#[..],
        br#"{"subject_id": "a", "admin": true}"#,
        b"[]",
    ] {
        json_error(
            &send_json_bytes(body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        );
    }
    // `null` is not "never".
    let r = c
        .post_json(
            "/v1/subjects/alice/consents",
            t.key(),
            json!({"purpose": "enrol", "text_version": "v1", "expires_at": null}),
        )
        .await
        .unwrap();
    json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    // Paths that do not decode; methods a route does not take; no route.
    for path in [
        "/v1/subjects/%FF",
        "/v1/subjects/%C0%AF",
        "/v1/challenges/%FE",
    ] {
        let r = c.get(path, t.key()).await.unwrap();
        json_error(&r, StatusCode::BAD_REQUEST, "invalid_path");
    }
    let r = c
        .request(Method::PUT, "/v1/subjects", t.key(), Body::Empty)
        .await
        .unwrap();
    json_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    json_error(
        &c.get("/v1/nothing", t.key()).await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Too large, and unauthenticated.
    let r = c
        .post_json(
            "/v1/subjects",
            t.key(),
            json!({"subject_id": "x".repeat(40_000)}),
        )
        .await
        .unwrap();
    json_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    json_error(
        &c.get("/v1/bundle", None).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    s.stop().await;
}

#[tokio::test]
async fn identifiers_are_canonical_and_never_deceptive() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        for bad in [
            ".",
            "..",
            "a\u{202E}b",
            "ali\u{200B}ce",
            "\u{FEFF}x",
            "a\u{2066}b",
            "tab\there",
            " x",
        ] {
            let r = c
                .post_json("/v1/subjects", t.key(), json!({"subject_id": bad}))
                .await
                .unwrap();
            json_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        }
        for bad in [".", "..", "a b"] {
            let r = c
                .post_json("/v1/tenants", Some(ADMIN), json!({"tenant_id": bad}))
                .await
                .unwrap();
            json_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        }
        // One name, two spellings: one subject.
        let nfd = "Zoe\u{0301}";
        let r = c
            .post_json("/v1/subjects", t.key(), json!({"subject_id": nfd}))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.json().unwrap()["subject_id"], "Zo\u{e9}");
        let r = c
            .post_json("/v1/subjects", t.key(), json!({"subject_id": "Zo\u{e9}"}))
            .await
            .unwrap();
        json_error(&r, StatusCode::CONFLICT, "conflict");
        for spelling in ["Zo%C3%A9", "Zoe%CC%81"] {
            let r = c
                .get(&format!("/v1/subjects/{spelling}"), t.key())
                .await
                .unwrap();
            assert_eq!(r.status, StatusCode::OK, "{spelling}");
        }
        s.stop().await;
    }
}

#[test]
fn the_openapi_document_lists_what_the_server_answers() {
    let doc: serde_json::Value = serde_json::from_str(faceseal_sync::api::OPENAPI).unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            // The load limits (body deadline and size, shedding) guard the
            // API; `/metrics` stays outside them, to be read under overload.
            let mut needed = if path.starts_with("/v1/") {
                vec!["408", "413", "500", "503"]
            } else {
                vec!["500"]
            };
            if op.get("security").is_some() {
                needed.extend(["401", "429"]);
            }
            if op
                .pointer("/requestBody/content/application~1json")
                .is_some()
            {
                needed.extend(["400", "415", "422"]);
            }
            if path.contains('{') {
                needed.push("400");
            }
            for status in needed {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }
    let verified = &doc["components"]["schemas"]["Verified"]["properties"];
    assert!(verified.get("score").is_none(), "no score in the contract");
    let verify = &doc["paths"]["/v1/verifications"]["post"]["responses"];
    assert!(
        verify.get("429").is_some()
            && doc["paths"]["/v1/enrolments"]["post"]["responses"]
                .get("409")
                .is_some()
    );
}
