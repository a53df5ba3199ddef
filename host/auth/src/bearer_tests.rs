use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use super::*;

fn with(header: &str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        HeaderName::from_bytes(header.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
    h
}

fn load(settings: BearerTokenAuthSettings) -> BearerTokenAuth {
    BearerTokenAuth::load(&settings, "extensions.bearertokenauth").unwrap()
}

fn load_err(settings: BearerTokenAuthSettings) -> String {
    BearerTokenAuth::load(&settings, "extensions.bearertokenauth")
        .unwrap_err()
        .to_string()
}

async fn token_name(auth: &BearerTokenAuth, headers: &HeaderMap) -> Result<String, AuthError> {
    let p = auth.authenticate(headers, None).await?;
    assert_eq!(p.username, None);
    Ok(p.token_name.unwrap_or_default())
}

#[tokio::test]
async fn single_token_with_default_header_and_scheme() {
    let auth = load(BearerTokenAuthSettings {
        token: Some("s3cr3t-token".into()),
        ..Default::default()
    });
    let ok = with("authorization", "Bearer s3cr3t-token");
    assert_eq!(token_name(&auth, &ok).await.unwrap(), "token-0");
    // Scheme is case-insensitive, as in HTTP.
    let ok = with("authorization", "bearer s3cr3t-token");
    assert!(auth.authenticate(&ok, None).await.is_ok());
    let cases = [
        (HeaderMap::new(), "missing"),
        (with("authorization", "Bearer s3cr3t-tokeN"), "invalid"),
        (
            with("authorization", "Bearer s3cr3t-token-and-more"),
            "invalid",
        ),
        (with("authorization", "Bearer "), "malformed"),
        (with("authorization", "Bearer"), "malformed"),
        (with("authorization", "Basic s3cr3t-token"), "scheme"),
        (with("authorization", "s3cr3t-token"), "scheme"),
        (with("x-token", "Bearer s3cr3t-token"), "missing"),
    ];
    for (headers, want) in cases {
        let err = auth.authenticate(&headers, None).await.unwrap_err();
        let got = match err {
            AuthError::MissingCredentials => "missing",
            AuthError::InvalidToken => "invalid",
            AuthError::Malformed(_) => "malformed",
            AuthError::WrongScheme => "scheme",
            _ => "other",
        };
        assert_eq!(got, want, "{headers:?}");
    }
}

#[tokio::test]
async fn several_tokens_are_named_by_position() {
    let auth = load(BearerTokenAuthSettings {
        tokens: Some(vec!["alpha".into(), "beta".into(), "gamma".into()]),
        ..Default::default()
    });
    assert_eq!(auth.token_count(), 3);
    for (i, t) in ["alpha", "beta", "gamma"].iter().enumerate() {
        let h = with("authorization", &format!("Bearer {t}"));
        assert_eq!(token_name(&auth, &h).await.unwrap(), format!("token-{i}"));
    }
    let h = with("authorization", "Bearer delta");
    assert!(matches!(
        token_name(&auth, &h).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn custom_header_and_scheme_or_no_scheme() {
    let auth = load(BearerTokenAuthSettings {
        header: Some("X-API-Key".into()),
        scheme: Some(String::new()),
        token: Some("k".into()),
        ..Default::default()
    });
    assert!(
        auth.authenticate(&with("x-api-key", "k"), None)
            .await
            .is_ok()
    );
    assert!(
        auth.authenticate(&with("authorization", "k"), None)
            .await
            .is_err()
    );
    let auth = load(BearerTokenAuthSettings {
        scheme: Some("Token".into()),
        token: Some("k".into()),
        ..Default::default()
    });
    assert!(
        auth.authenticate(&with("authorization", "Token k"), None)
            .await
            .is_ok()
    );
    assert!(
        auth.authenticate(&with("authorization", "Bearer k"), None)
            .await
            .is_err()
    );
}

#[test]
fn settings_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, "a\n").unwrap();
    assert!(
        load_err(Default::default())
            .contains("set one of `token`, `tokens`, `named_tokens` or `filename`")
    );
    let both = BearerTokenAuthSettings {
        token: Some("a".into()),
        filename: Some(file.clone()),
        ..Default::default()
    };
    assert!(load_err(both).contains("exclude each other"));
    let empty = BearerTokenAuthSettings {
        tokens: Some(vec![]),
        ..Default::default()
    };
    assert!(load_err(empty).contains("`tokens` is empty"));
    let blank = BearerTokenAuthSettings {
        tokens: Some(vec!["ok".into(), "  ".into()]),
        ..Default::default()
    };
    assert!(load_err(blank).contains("`tokens[1]` is empty"));
    let header = BearerTokenAuthSettings {
        token: Some("a".into()),
        header: Some("bad header".into()),
        ..Default::default()
    };
    assert!(load_err(header).contains("not a valid header name"));
    let scheme = BearerTokenAuthSettings {
        token: Some("a".into()),
        scheme: Some("Two Words".into()),
        ..Default::default()
    };
    assert!(load_err(scheme).contains("`scheme`"));
}

#[test]
fn token_file_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    let settings = BearerTokenAuthSettings {
        filename: Some(file.clone()),
        ..Default::default()
    };
    std::fs::write(&file, "good\n\nbad\u{1}token\n").unwrap();
    let err = load_err(settings.clone());
    assert!(
        err.contains(&format!("token file {} line 3", file.display())),
        "{err}"
    );
    std::fs::write(&file, "\n  \n").unwrap();
    assert!(load_err(settings.clone()).contains("holds no token"));
    std::fs::remove_file(&file).unwrap();
    assert!(load_err(settings).contains("cannot read"));
}

#[tokio::test]
async fn token_file_is_reread_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, "one\r\n\ntwo\n").unwrap();
    let auth = Arc::new(load(BearerTokenAuthSettings {
        filename: Some(file.clone()),
        ..Default::default()
    }));
    let two = with("authorization", "Bearer two");
    assert_eq!(token_name(&auth, &two).await.unwrap(), "token-1");

    // A broken file is refused and the old tokens stay.
    std::fs::write(&file, "").unwrap();
    auth.reload_now();
    assert!(auth.authenticate(&two, None).await.is_ok());

    auth.start_reloading();
    let tmp = dir.path().join("tokens.tmp");
    std::fs::write(&tmp, "three\n").unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    let three = with("authorization", "Bearer three");
    for _ in 0..200 {
        if auth.authenticate(&three, None).await.is_ok() {
            assert!(auth.authenticate(&two, None).await.is_err());
            assert_eq!(auth.token_count(), 1);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("token file change not picked up within 10s");
}

fn named(pairs: &[(&str, &str)]) -> Option<std::collections::BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
    )
}

#[tokio::test]
async fn named_token_that_matched_gives_its_name() {
    let auth = load(BearerTokenAuthSettings {
        named_tokens: named(&[("team-a", "alpha-secret"), ("team-b", "beta-secret")]),
        ..Default::default()
    });
    let b = with("authorization", "Bearer beta-secret");
    assert_eq!(token_name(&auth, &b).await.unwrap(), "team-b");
    let a = with("authorization", "Bearer alpha-secret");
    assert_eq!(token_name(&auth, &a).await.unwrap(), "team-a");
    let wrong = with("authorization", "Bearer gamma-secret");
    assert!(matches!(
        auth.authenticate(&wrong, None).await,
        Err(AuthError::InvalidToken)
    ));
    // Nothing secret in Debug.
    let debug = format!("{auth:?}");
    assert!(
        debug.contains("team-a") && !debug.contains("alpha-secret"),
        "{debug}"
    );
}

#[tokio::test]
async fn named_tokens_go_with_unnamed_ones_and_survive_a_file_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, "one\n").unwrap();
    let auth = load(BearerTokenAuthSettings {
        filename: Some(file.clone()),
        named_tokens: named(&[("team-a", "alpha-secret")]),
        ..Default::default()
    });
    let one = with("authorization", "Bearer one");
    assert_eq!(token_name(&auth, &one).await.unwrap(), "token-0");
    std::fs::write(&file, "two\n").unwrap();
    auth.reload_now();
    let a = with("authorization", "Bearer alpha-secret");
    assert_eq!(token_name(&auth, &a).await.unwrap(), "team-a");
    assert!(auth.authenticate(&one, None).await.is_err());
    // A file token equal to a named one is refused; the previous tokens stay.
    std::fs::write(&file, "alpha-secret\n").unwrap();
    auth.reload_now();
    let two = with("authorization", "Bearer two");
    assert_eq!(token_name(&auth, &two).await.unwrap(), "token-0");
}

#[test]
fn a_named_token_shared_with_another_name_is_refused_without_showing_it() {
    let err = load_err(BearerTokenAuthSettings {
        named_tokens: named(&[("team-a", "same-secret"), ("team-b", "same-secret")]),
        ..Default::default()
    });
    assert!(err.contains("team-a and team-b"), "{err}");
    assert!(!err.contains("same-secret"), "{err}");
    let err = load_err(BearerTokenAuthSettings {
        named_tokens: named(&[("team-a", " ")]),
        ..Default::default()
    });
    assert!(err.contains("`named_tokens.team-a` is empty"), "{err}");
}
