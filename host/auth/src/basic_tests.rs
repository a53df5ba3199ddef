use std::io::Write;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};

use super::*;

const SHA_PASSWORD: &str = "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="; // "password"
const APR1_PASSWORD: &str = "$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1"; // "password"

fn basic_header(user: &str, password: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let encoded = STANDARD.encode(format!("{user}:{password}"));
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::try_from(format!("Basic {encoded}")).unwrap(),
    );
    h
}

fn inline(text: &str, allow_plaintext: bool) -> BasicAuth {
    let settings = HtpasswdSettings {
        inline: Some(text.to_owned()),
        allow_plaintext,
        ..Default::default()
    };
    BasicAuth::load(&settings, "extensions.basicauth/test").unwrap()
}

fn from_file(path: &Path) -> BasicAuth {
    let settings = HtpasswdSettings {
        file: Some(path.to_owned()),
        ..Default::default()
    };
    BasicAuth::load(&settings, "extensions.basicauth/test").unwrap()
}

async fn login(
    auth: &dyn ServerAuthenticator,
    user: &str,
    password: &str,
) -> Result<Principal, AuthError> {
    auth.authenticate(&basic_header(user, password), None).await
}

async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after 10s waiting for {what}");
}

/// Writes through a temporary file and a rename, as secret managers do.
fn replace(path: &Path, content: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn every_hash_format_accepts_the_right_password_only() {
    let bcrypt = bcrypt::hash("b-pass", 4).unwrap();
    let auth = inline(
        &format!(
            "sha:{SHA_PASSWORD}\napr:{APR1_PASSWORD}\nmd5:$1$saltsalt$ZliGyAN3DciDHEkDboonh/\nbc:{bcrypt}\nplain:hunter2\n"
        ),
        true,
    );
    for (user, good) in [
        ("sha", "password"),
        ("apr", "password"),
        ("md5", "hunter2"),
        ("bc", "b-pass"),
        ("plain", "hunter2"),
    ] {
        let p = login(&auth, user, good).await.unwrap();
        assert_eq!(p.username.as_deref(), Some(user));
        assert_eq!(p.token_name, None);
        let err = login(&auth, user, "wrong").await.unwrap_err();
        assert!(
            matches!(&err, AuthError::WrongPassword { username } if username == user),
            "{user}: {err:?}"
        );
        assert_eq!(err.client_message(), "invalid credentials");
    }
}

#[tokio::test]
async fn unknown_user_and_header_problems() {
    let auth = inline(&format!("alice:{SHA_PASSWORD}"), false);
    let err = login(&auth, "bob", "password").await.unwrap_err();
    assert!(matches!(err, AuthError::UnknownUser { ref username } if username == "bob"));
    assert_eq!(err.client_message(), "invalid credentials");
    let err = auth
        .authenticate(&HeaderMap::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::MissingCredentials));
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_static("Bearer x"),
    );
    assert!(matches!(
        auth.authenticate(&h, None).await.unwrap_err(),
        AuthError::WrongScheme
    ));
}

#[test]
fn load_errors() {
    let err = BasicAuth::load(&HtpasswdSettings::default(), "o").unwrap_err();
    assert!(
        err.to_string().contains("needs `file` or `inline`"),
        "{err}"
    );

    let settings = HtpasswdSettings {
        inline: Some("alice:hunter2".into()),
        ..Default::default()
    };
    let err = BasicAuth::load(&settings, "o").unwrap_err().to_string();
    assert!(
        err.contains("htpasswd inline line 1") && err.contains("allow_plaintext"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htpasswd");
    std::fs::write(&path, format!("alice:{SHA_PASSWORD}\n\nbroken line\n")).unwrap();
    let settings = HtpasswdSettings {
        file: Some(path.clone()),
        ..Default::default()
    };
    let err = BasicAuth::load(&settings, "o").unwrap_err().to_string();
    assert!(
        err.contains(&format!("htpasswd file {} line 3", path.display())),
        "{err}"
    );

    let settings = HtpasswdSettings {
        file: Some(dir.path().join("missing")),
        ..Default::default()
    };
    let err = BasicAuth::load(&settings, "o").unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err}");
}

#[tokio::test]
async fn inline_entries_win_over_file_and_survive_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htpasswd");
    std::fs::write(&path, format!("alice:{SHA_PASSWORD}\nbob:{SHA_PASSWORD}\n")).unwrap();
    let settings = HtpasswdSettings {
        file: Some(path.clone()),
        inline: Some("alice:$1$saltsalt$ZliGyAN3DciDHEkDboonh/".into()),
        allow_plaintext: false,
    };
    let auth = BasicAuth::load(&settings, "o").unwrap();
    assert!(login(&auth, "alice", "hunter2").await.is_ok());
    assert!(login(&auth, "alice", "password").await.is_err());
    std::fs::write(&path, format!("carol:{APR1_PASSWORD}\n")).unwrap();
    auth.reload_now();
    assert_eq!(auth.user_count(), 2);
    assert!(login(&auth, "alice", "hunter2").await.is_ok());
    assert!(login(&auth, "carol", "password").await.is_ok());
    assert!(login(&auth, "bob", "password").await.is_err());
}

#[tokio::test]
async fn cache_hit_avoids_bcrypt_and_failures_are_not_cached() {
    let auth = inline(
        &format!("alice:{}", bcrypt::hash("s3cret", 4).unwrap()),
        false,
    );
    login(&auth, "alice", "s3cret").await.unwrap();
    assert_eq!(auth.bcrypt_checks(), 1);
    for _ in 0..3 {
        login(&auth, "alice", "s3cret").await.unwrap();
    }
    assert_eq!(auth.bcrypt_checks(), 1, "successes come from the cache");
    assert!(login(&auth, "alice", "guess").await.is_err());
    assert!(login(&auth, "alice", "guess").await.is_err());
    assert_eq!(auth.bcrypt_checks(), 3, "failures always run bcrypt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_logins_share_one_bcrypt_per_permit() {
    let auth = Arc::new(inline(
        &format!("alice:{}", bcrypt::hash("s3cret", 4).unwrap()),
        false,
    ));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { login(&*auth, "alice", "s3cret").await.is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert!(
        auth.bcrypt_checks() <= cpus,
        "{} bcrypt runs",
        auth.bcrypt_checks()
    );
}

#[tokio::test]
async fn cache_is_cleared_when_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htpasswd");
    let alice = format!("alice:{}\n", bcrypt::hash("s3cret", 4).unwrap());
    std::fs::write(&path, &alice).unwrap();
    let auth = from_file(&path);
    login(&auth, "alice", "s3cret").await.unwrap();
    login(&auth, "alice", "s3cret").await.unwrap();
    assert_eq!(auth.bcrypt_checks(), 1);
    // Same content rewritten: not a change, the cache stays.
    std::fs::write(&path, &alice).unwrap();
    auth.reload_now();
    login(&auth, "alice", "s3cret").await.unwrap();
    assert_eq!(auth.bcrypt_checks(), 1);
    // Real change: the cache is dropped and alice is checked again.
    std::fs::write(&path, format!("{alice}bob:{SHA_PASSWORD}\n")).unwrap();
    auth.reload_now();
    login(&auth, "alice", "s3cret").await.unwrap();
    assert_eq!(auth.bcrypt_checks(), 2);
    // Password changed in the file: the old cached success must not let the old one in.
    login(&auth, "alice", "s3cret").await.unwrap();
    std::fs::write(
        &path,
        format!("alice:{}\n", bcrypt::hash("n3w", 4).unwrap()),
    )
    .unwrap();
    auth.reload_now();
    assert!(login(&auth, "alice", "s3cret").await.is_err());
    assert!(login(&auth, "alice", "n3w").await.is_ok());
}

#[tokio::test]
async fn file_reload_picks_up_a_new_user_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htpasswd");
    std::fs::write(&path, format!("alice:{SHA_PASSWORD}\n")).unwrap();
    // Through the trait object, as the receivers hold it.
    let ext = sluice_config::Extension::BasicAuth(sluice_config::BasicAuthSettings {
        htpasswd: Some(HtpasswdSettings {
            file: Some(path.clone()),
            ..Default::default()
        }),
        client_auth: None,
    });
    let auth = crate::server_authenticator(&ext, "o").unwrap().unwrap();
    let auth = &*auth;
    auth.start_reloading();
    assert!(login(auth, "bob", "password").await.is_err());
    replace(
        &path,
        &format!("alice:{SHA_PASSWORD}\nbob:{APR1_PASSWORD}\n"),
    );
    wait_until("bob to be accepted", async || {
        login(auth, "bob", "password").await.is_ok()
    })
    .await;
    // An in-place append (no rename) is seen as well.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(f, "carol:{SHA_PASSWORD}").unwrap();
    drop(f);
    wait_until("carol to be accepted", async || {
        login(auth, "carol", "password").await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn broken_reload_keeps_the_old_users() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htpasswd");
    std::fs::write(&path, format!("alice:{SHA_PASSWORD}\n")).unwrap();
    let auth = Arc::new(from_file(&path));
    std::fs::write(&path, "alice:rqXexS6ZhobKA\n").unwrap();
    auth.reload_now();
    assert!(login(&*auth, "alice", "password").await.is_ok());
    std::fs::remove_file(&path).unwrap();
    auth.reload_now();
    assert!(login(&*auth, "alice", "password").await.is_ok());
    // Once fixed, the watcher applies the new content.
    auth.start_reloading();
    replace(
        &path,
        &format!("alice:{APR1_PASSWORD}\ndave:{SHA_PASSWORD}\n"),
    );
    wait_until("dave to be accepted", async || {
        login(&*auth, "dave", "password").await.is_ok()
    })
    .await;
    assert!(login(&*auth, "alice", "password").await.is_ok());
}

#[tokio::test]
async fn failures_are_logged_with_peer_and_user_but_never_the_password() {
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    let buf = Buf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buf.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let auth = inline(&format!("alice:{SHA_PASSWORD}"), false);
    let peer: SocketAddr = "1.2.3.4:5".parse().unwrap();
    let headers = basic_header("alice", "TopSecretGuess");
    assert!(auth.authenticate(&headers, Some(peer)).await.is_err());
    let headers = basic_header("evil\nuser", "x");
    assert!(auth.authenticate(&headers, Some(peer)).await.is_err());
    let logs = String::from_utf8(buf.0.lock().clone()).unwrap();
    assert!(logs.contains("WARN"), "{logs}");
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 2, "{logs}");
    assert!(
        lines[0].contains("basic auth failed: wrong password"),
        "{logs}"
    );
    assert!(lines[0].contains("peer=1.2.3.4:5 user=alice"), "{logs}");
    assert!(!logs.contains("TopSecretGuess"), "{logs}");
    // A hostile user name cannot forge a log line.
    assert!(lines[1].contains(r"user=evil\nuser"), "{logs}");
    assert!(
        lines[1].contains("basic auth failed: unknown user"),
        "{logs}"
    );
}
