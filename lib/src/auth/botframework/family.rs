//! The two token families a bot accepts, and what each must prove beyond
//! the standard claims.
//!
//! **Channel tokens** come from the Bot Connector service, signed with its
//! keys (`login.botframework.com`) and issued by `https://api.botframework.com`.
//! They name the service URL they were issued for (`serviceurl`), which must
//! equal the activity's, and the key that signed them must be endorsed for
//! the activity's channel (else 403: the token is valid, but not for this
//! channel). Such an activity's service URL is [`Provenance::Verified`].
//!
//! **Emulator tokens** are Entra ID tokens the Emulator obtains with the
//! bot's own app id and password: issued by the `botframework.com` tenant
//! (or, for single-tenant bots, the bot's tenant), signed with Entra ID's
//! keys, for the audience of the bot's app id, and requested by the bot's
//! app id (`appid` in v1 tokens, `azp` in v2). They name no service URL, so
//! an Emulator activity's service URL stays [`Provenance::Unverified`]:
//! it is called only if the allow-list trusts its host (on the local host,
//! loopback). Entra ID keys carry no endorsements; none are required.

use super::claims::Claims;
use super::jwks::SigningKey;
use super::keys::KeyCache;
use crate::auth::AuthFailure;
use crate::service_url::Provenance;
use crate::turn::Turn;

/// Tenants whose Entra ID issues Emulator tokens: the `botframework.com`
/// tenants of auth v3.1 and v3.2, and US Government's.
const EMULATOR_ISSUERS: &[&str] = &[
    "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/",
    "https://login.microsoftonline.com/d6d49420-f39b-4df7-a1dc-d59a935871db/v2.0",
    "https://sts.windows.net/f8cdef31-a31e-4b4a-93e4-5f571e91255a/",
    "https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a/v2.0",
    "https://sts.windows.net/cab8a31a-1906-4287-a0d8-4eef66b95f6e/",
    "https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0",
    "https://login.microsoftonline.us/f8cdef31-a31e-4b4a-93e4-5f571e91255a/",
    "https://login.microsoftonline.us/f8cdef31-a31e-4b4a-93e4-5f571e91255a/v2.0",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Emulator,
}

pub struct Family {
    pub kind: Kind,
    pub issuers: Vec<String>,
    pub keys: KeyCache,
}

impl Family {
    pub fn channel(issuer: &str, keys: KeyCache) -> Family {
        Family {
            kind: Kind::Channel,
            issuers: vec![issuer.to_owned()],
            keys,
        }
    }

    /// `tenant`: the bot's own tenant, whose issuers a single-tenant bot's
    /// Emulator tokens come from.
    pub fn emulator(tenant: Option<&str>, keys: KeyCache) -> Family {
        let mut issuers: Vec<String> = EMULATOR_ISSUERS.iter().map(|&i| i.to_owned()).collect();
        if let Some(tenant) = tenant {
            issuers.push(format!("https://sts.windows.net/{tenant}/"));
            issuers.push(format!("https://login.microsoftonline.com/{tenant}/v2.0"));
        }
        Family {
            kind: Kind::Emulator,
            issuers,
            keys,
        }
    }

    pub fn accepts_issuer(&self, issuer: &str) -> bool {
        self.issuers.iter().any(|i| i == issuer)
    }

    /// The family's own rules, on a token whose signature and standard
    /// claims already checked out.
    pub fn check(
        &self,
        claims: &Claims,
        key: &SigningKey,
        turn: &Turn,
        app_id: &str,
    ) -> Result<Provenance, AuthFailure> {
        match self.kind {
            Kind::Channel => check_channel(claims, key, turn),
            Kind::Emulator => check_emulator(claims, app_id),
        }
    }
}

fn check_channel(
    claims: &Claims,
    key: &SigningKey,
    turn: &Turn,
) -> Result<Provenance, AuthFailure> {
    let claimed = claims
        .service_url
        .as_deref()
        .ok_or_else(|| AuthFailure::Unauthorized("the token has no serviceurl claim".into()))?;
    // Compared as the SDKs do: ordinal, ignoring case.
    if !claimed.eq_ignore_ascii_case(turn.service_url.as_str()) {
        return Err(AuthFailure::Unauthorized(format!(
            "the token was issued for service URL `{claimed}`, not `{}`",
            turn.service_url
        )));
    }
    let channel = turn.key.channel_id();
    if !key.endorsements.iter().any(|e| e == channel) {
        return Err(AuthFailure::Forbidden(format!(
            "the signing key is not endorsed for channel `{channel}`"
        )));
    }
    Ok(Provenance::Verified)
}

fn check_emulator(claims: &Claims, app_id: &str) -> Result<Provenance, AuthFailure> {
    let (claim, value) = match claims.ver.as_deref() {
        None | Some("1.0") => ("appid", claims.appid.as_deref()),
        Some("2.0") => ("azp", claims.azp.as_deref()),
        Some(other) => {
            return Err(AuthFailure::Unauthorized(format!(
                "unknown Emulator token version `{other}`"
            )))
        }
    };
    match value {
        Some(id) if id == app_id => Ok(Provenance::Unverified),
        Some(_) => Err(AuthFailure::Unauthorized(format!(
            "the `{claim}` claim is not this bot's app id"
        ))),
        None => Err(AuthFailure::Unauthorized(format!(
            "the `{claim}` claim is missing"
        ))),
    }
}
