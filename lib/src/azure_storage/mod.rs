//! An Azure Storage account, as nudge's Azure adapters reach it: where its
//! queue and table services are, and how a request proves it may use them.
//!
//! Two ways, as users run it: the account key from a connection string
//! (`AzureWebJobsStorage`, Azurite), or a Microsoft Entra token (a managed
//! identity in production). The key never travels: every request carries a
//! short-lived account SAS signed with it ([`sas`]), which the official
//! queue crate takes through a pipeline policy ([`SasPolicy`]) and the
//! Table REST module adds to its URLs. Signing lives here, once, for both
//! services. (The SDK crates sign with Entra tokens only; a SAS is the
//! form of shared-key access they accept.) Tokens come from any
//! `TokenCredential`; the Azure host gives the managed identity's
//! (`crate::azure::storage_identity`).

mod connection;
mod credential;
mod policy;
pub mod sas;

pub use connection::{ConnectionError, StorageAccount};
pub use credential::{Credential, CredentialError, STORAGE_SCOPE};
pub use policy::SasPolicy;
