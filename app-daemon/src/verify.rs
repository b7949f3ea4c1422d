//! Webhook authentication: GitHub's `X-Hub-Signature-256`, GitLab's `X-Gitlab-Token`,
//! and the Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64>`). Every comparison is constant-time; a refusal
//! says which header was wrong, never the secret or the expected value.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery was refused (answered 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refused(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. The
/// legacy `X-Hub-Signature` (SHA-1) alone is not accepted.
pub fn github(secret: &[u8], signature_256: Option<&str>, body: &[u8]) -> Result<(), Refused> {
    let header = signature_256.ok_or_else(|| {
        refused("X-Hub-Signature-256 is missing (set a secret on the webhook; the SHA-1 X-Hub-Signature is not accepted)")
    })?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| refused("X-Hub-Signature-256 must be sha256=<hex>"))?;
    let sig =
        hex::decode(hex_sig).map_err(|_| refused("X-Hub-Signature-256 is not hexadecimal"))?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| refused("bad secret"))?;
    mac.update(body);
    mac.verify_slice(&sig)
        .map_err(|_| refused("X-Hub-Signature-256 does not match the body and the secret"))
}

/// GitLab: `X-Gitlab-Token` equals the secret (compared through their SHA-256, so
/// neither content nor length leaks through timing).
pub fn gitlab_token(secret: &[u8], token: Option<&str>) -> Result<(), Refused> {
    let token = token.ok_or_else(|| refused("X-Gitlab-Token is missing"))?;
    let a = Sha256::digest(token.as_bytes());
    let b = Sha256::digest(secret);
    if bool::from(a.ct_eq(&b)) {
        Ok(())
    } else {
        Err(refused(
            "X-Gitlab-Token does not match the configured secret",
        ))
    }
}

/// The Standard Webhooks headers of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct StandardHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp` (Unix seconds).
    pub timestamp: &'a str,
    /// `webhook-signature`: space-separated `v1,<base64>` entries.
    pub signature: &'a str,
}

/// How far a `webhook-timestamp` may be from now: ±5 minutes.
pub const TOLERANCE_SECS: i64 = 300;

/// Standard Webhooks: HMAC-SHA256 over `id.timestamp.body` with the secret (a
/// `whsec_` prefix means the rest is base64), base64 encoded; any `v1` entry may
/// match; the timestamp within ±5 minutes of `now` (replays are refused).
pub fn standard(
    secret: &str,
    headers: StandardHeaders<'_>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let key = match secret.strip_prefix("whsec_") {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| refused("the webhook secret starts with whsec_ but is not base64"))?,
        None => secret.as_bytes().to_vec(),
    };
    let ts: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| refused("webhook-timestamp is not Unix seconds"))?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(refused(format!(
            "webhook-timestamp is {}s from now: outside the ±{TOLERANCE_SECS}s window (a replay or a skewed clock)",
            now - ts
        )));
    }
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| refused("bad secret"))?;
    mac.update(headers.id.as_bytes());
    mac.update(b".");
    mac.update(headers.timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let mut seen_v1 = false;
    for entry in headers.signature.split_whitespace() {
        let Some(b64) = entry.strip_prefix("v1,") else {
            continue;
        };
        seen_v1 = true;
        if let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(b64) {
            if bool::from(sig.as_slice().ct_eq(expected.as_slice())) {
                return Ok(());
            }
        }
    }
    Err(refused(if seen_v1 {
        "webhook-signature does not match the body and the secret"
    } else {
        "webhook-signature has no v1,<base64> entry"
    }))
}

/// Sign a body as GitHub does.
#[cfg(test)]
pub fn github_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented example ("Validating webhook deliveries").
    const GH_SECRET: &[u8] = b"It's a Secret to Everybody";
    const GH_BODY: &[u8] = b"Hello, World!";
    const GH_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_documented_vector() {
        assert_eq!(github(GH_SECRET, Some(GH_SIG), GH_BODY), Ok(()));
        assert_eq!(github_signature(GH_SECRET, GH_BODY), GH_SIG);
        let e = github(GH_SECRET, Some(GH_SIG), b"Hello, World?").expect_err("tampered");
        assert!(e.0.contains("does not match"), "{e}");
        let e = github(b"another secret", Some(GH_SIG), GH_BODY).expect_err("secret");
        assert!(e.0.contains("does not match"), "{e}");
        let e = github(GH_SECRET, None, GH_BODY).expect_err("missing");
        assert!(e.0.contains("missing"), "{e}");
        let e = github(GH_SECRET, Some("sha1=01234567"), GH_BODY).expect_err("sha1");
        assert!(e.0.contains("sha256="), "{e}");
        let e = github(GH_SECRET, Some("sha256=zz"), GH_BODY).expect_err("hex");
        assert!(e.0.contains("hexadecimal"), "{e}");
        // A truncated signature is not a prefix match.
        assert!(github(GH_SECRET, Some(&GH_SIG[..40]), GH_BODY).is_err());
    }

    #[test]
    fn gitlab_token_is_compared_exactly() {
        assert_eq!(gitlab_token(b"s3cret", Some("s3cret")), Ok(()));
        assert!(gitlab_token(b"s3cret", Some("s3cre")).is_err());
        assert!(gitlab_token(b"s3cret", Some("s3cret ")).is_err());
        assert!(gitlab_token(b"s3cret", None).is_err());
    }

    /// The Standard Webhooks specification's example.
    #[test]
    fn standard_webhooks_vector_and_window() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let h = StandardHeaders {
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: "1614265330",
            signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        };
        assert_eq!(standard(secret, h, body, 1614265330), Ok(()));
        assert_eq!(standard(secret, h, body, 1614265330 + 300), Ok(()));
        // Several signatures (secret rotation): any v1 entry may match.
        let rotated = StandardHeaders {
            signature: "v1a,xxxx v1,AAAA v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ..h
        };
        assert_eq!(standard(secret, rotated, body, 1614265330), Ok(()));
        let e = standard(secret, h, body, 1614265330 + 301).expect_err("replay");
        assert!(e.0.contains("window"), "{e}");
        let e = standard(secret, h, body, 1614265330 - 301).expect_err("future");
        assert!(e.0.contains("window"), "{e}");
        let e = standard(secret, h, br#"{"test": 2432232315}"#, 1614265330).expect_err("tampered");
        assert!(e.0.contains("does not match"), "{e}");
        let other_id = StandardHeaders {
            id: "msg_other",
            ..h
        };
        assert!(standard(secret, other_id, body, 1614265330).is_err());
        let none = StandardHeaders {
            signature: "v2,abc",
            ..h
        };
        assert!(standard(secret, none, body, 1614265330)
            .expect_err("no v1")
            .0
            .contains("no v1"));
    }
}
