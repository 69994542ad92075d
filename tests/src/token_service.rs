//! The token service of the test registry with token authentication
//! (`DOCKER_TEST_TOKEN_REGISTRY`): what Docker Hub's auth service does, small. It checks the
//! Basic credentials of a token request and answers a JWT signed (ES256) with the key the test
//! script made, whose certificate the registry trusts and which rides in the token's `x5c`.
//!
//! Users, all with the test registry's password: `tester` gets what it asks for, but only `pull`
//! under `locked/`; `brief` gets tokens that last two seconds; `expired` gets tokens that
//! expired a minute ago. Anyone else, or a wrong password, is refused with 401.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::companion_variable;

/// The service, started on first use on a thread of its own (each test has its own runtime,
/// which ends with the test) and serving until the process ends.
pub struct TokenService {
    issued: Mutex<HashMap<String, usize>>,
}

static SERVICE: OnceLock<TokenService> = OnceLock::new();

impl TokenService {
    /// The running service, started at the port the registry names as its realm.
    pub fn get() -> &'static TokenService {
        let mut start = false;
        let service = SERVICE.get_or_init(|| {
            start = true;
            TokenService {
                issued: Mutex::new(HashMap::new()),
            }
        });
        if start {
            let port: u16 = companion_variable("DOCKER_TEST_TOKEN_SERVICE_PORT")
                .parse()
                .expect("DOCKER_TEST_TOKEN_SERVICE_PORT is a port");
            let signer = Signer::from_env();
            let (ready_sender, ready) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the token service");
                runtime.block_on(async move {
                    let listener = TcpListener::bind(("127.0.0.1", port))
                        .await
                        .unwrap_or_else(|e| panic!("the token service cannot listen on 127.0.0.1:{port}: {e}"));
                    ready_sender.send(()).expect("the starting test waits");
                    let signer = std::sync::Arc::new(signer);
                    loop {
                        let Ok((connection, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(answer(connection, signer.clone()));
                    }
                });
            });
            ready
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("the token service started");
        }
        service
    }

    /// Tokens issued so far to `user`.
    pub fn issued_to(&self, user: &str) -> usize {
        self.issued.lock().unwrap().get(user).copied().unwrap_or(0)
    }
}

/// Signs tokens with the run's key (PKCS#8 DER) and names its certificate (DER) in `x5c`.
struct Signer {
    key: ring::signature::EcdsaKeyPair,
    certificate: String,
    password: String,
}

impl Signer {
    fn from_env() -> Signer {
        let read = |variable: &str| {
            let path = companion_variable(variable);
            std::fs::read(&path).unwrap_or_else(|e| panic!("{variable}={path}: {e}"))
        };
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &read("DOCKER_TEST_TOKEN_KEY"),
            &ring::rand::SystemRandom::new(),
        )
        .expect("DOCKER_TEST_TOKEN_KEY is a P-256 key in PKCS#8");
        Signer {
            key,
            certificate: base64::engine::general_purpose::STANDARD.encode(read("DOCKER_TEST_TOKEN_CERT")),
            password: companion_variable("DOCKER_TEST_REGISTRY_PASSWORD"),
        }
    }

    fn token(&self, user: &str, scopes: &[String], lifetime: i64, serial: usize) -> String {
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|scope| {
                let (kind, rest) = scope.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                let granted: Vec<&str> = actions
                    .split(',')
                    .filter(|action| !name.starts_with("locked/") || *action == "pull")
                    .collect();
                Some(serde_json::json!({"type": kind, "name": name, "actions": granted}))
            })
            .collect();
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [self.certificate]});
        let claims = serde_json::json!({
            "iss": "test-token-service",
            "sub": user,
            "aud": "test-registry",
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + lifetime,
            "jti": format!("{now}-{serial}"),
            "access": access,
        });
        let signed = format!("{}.{}", url.encode(header.to_string()), url.encode(claims.to_string()));
        let signature = self
            .key
            .sign(&ring::rand::SystemRandom::new(), signed.as_bytes())
            .expect("signing works");
        format!("{signed}.{}", url.encode(signature.as_ref()))
    }
}

/// Reads one request (`GET /token?service=...&scope=...` with Basic credentials) and answers it.
async fn answer(mut connection: tokio::net::TcpStream, signer: std::sync::Arc<Signer>) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        match connection.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
        if request.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&request);
    let target = text.split_whitespace().nth(1).unwrap_or_default();
    let query = target.split_once('?').map(|(_, query)| query).unwrap_or_default();
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("scope="))
        .map(|scope| {
            percent_encoding::percent_decode_str(scope)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let credentials = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let encoded = name
            .eq_ignore_ascii_case("authorization")
            .then(|| value.trim().strip_prefix("Basic "))??;
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    });
    let lifetime = match &credentials {
        Some((user, password)) if *password == signer.password => match user.as_str() {
            "tester" => Some(300),
            "brief" => Some(2),
            "expired" => Some(-60),
            _ => None,
        },
        _ => None,
    };
    let response = match (lifetime, &credentials) {
        (Some(lifetime), Some((user, _))) => {
            let serial = {
                let mut issued = SERVICE.get().expect("started before serving").issued.lock().unwrap();
                let count = issued.entry(user.clone()).or_default();
                *count += 1;
                *count
            };
            let token = signer.token(user, &scopes, lifetime, serial);
            let body = serde_json::json!({"token": token, "expires_in": lifetime.max(1)}).to_string();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        _ => {
            let body = r#"{"details":"incorrect username or password"}"#;
            format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    let _ = connection.write_all(response.as_bytes()).await;
    let _ = connection.shutdown().await;
}
