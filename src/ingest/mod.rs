//! ingest: platform payloads in, one normalised [`InboundEvent`] per item out.
//!
//! Pure: no IO. The HTTP handler verifies the signature on the raw bytes with
//! [`verify_meta_signature`] / [`verify_telegram_secret`], parses JSON, calls
//! [`normalise_meta`] / [`normalise_telegram`], and stores every [`Inbound`]
//! (events and unrecognised items alike) before answering 200.

// Fixtures live in the shared folder beside the repository, at the same
// relative path from this crate and from the main one.
#[cfg(test)]
macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/fixtures/",
            $path
        ))
    };
}

mod event;
mod fields;
mod graph;
mod handshake;
mod meta;
pub(crate) mod signature;
mod signed_request;
mod telegram;

pub use event::{EventKind, IgnoreReason, Inbound, InboundEvent, Platform, Verb};
pub use graph::normalise_graph_comments;
pub use handshake::meta_handshake_reply;
pub use meta::{normalise_meta, MetaBatch};
pub use signature::{
    sign_meta_body, verify_meta_signature, verify_telegram_secret, SignatureError,
};
pub use signed_request::{parse_signed_request, sign_request, DeletionRequest, SignedRequestError};
pub use telegram::{decode_update, normalise_telegram};
