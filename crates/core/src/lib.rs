//! # liveledger-core
//!
//! Formats and verification for Live Ledger: C2SP signed notes, checkpoints and
//! cosignatures, tlog-tiles paths and entry bundles, RFC 6962 Merkle proofs, the Live
//! Ledger event, and a streaming auditor.
//!
//! Layering, bottom up (each module uses only the ones above it in this list; ARCHITECTURE.md
//! has it as one line, and `tests/layers.rs` holds the sources to it):
//! - [`b64`]: base64, strict.
//! - [`hash`]: SHA-256 and the RFC 6962 §2.1 hash functions.
//! - [`merkle`]: tree hashes, inclusion and consistency proofs, the frontier.
//! - [`tiles`]: tlog-tiles paths and arithmetic (the only module that knows them).
//! - [`bundle`]: the entry-bundle codec.
//! - [`note`], [`checkpoint`]: signed notes, keys, cosignatures, checkpoints.
//! - [`archive`]: the index of a ledger's archived digests.
//! - [`layout`]: the paths of a published ledger, and how long each one's bytes last.
//! - [`jcs`], [`time`]: canonical JSON, RFC 3339 timestamps.
//! - [`policy`]: C2SP tlog-policy: logs, witnesses and the quorum.
//! - [`metadata`]: the ledger metadata, one strict parser.
//! - [`level`]: what is checked of a log (its tree, or its events too).
//! - [`sigcheck`]: Ed25519 checks handed out, and which inputs any engine may check.
//! - [`event`]: the Live Ledger event, canonical JSON, governance, replay.
//! - [`writer`]: what a publisher writes after each append.
//! - [`trust`]: what a verifier trusts and why: keys (pinned or first use), time key,
//!   origin, level, the witness quorum; how a checkpoint is opened under it.
//! - [`audit`]: the streaming auditor, consistency and split views (step machines) and
//!   single-entry checks.
//! - [`freshness`]: when a digest is stale (twice the ledger's cadence, or a stricter
//!   maximum age).
//! - [`proof`]: C2SP tlog-proof receipts.
//! - [`witness`]: C2SP tlog-witness: the add-checkpoint request and a witness's rules.
//! - [`verdict`]: the codes verdicts are reported with, and each error's code.
//! - [`session`]: the verification sequence, one order of steps for every verifier.
//!
//! Architecture invariants: no I/O, no async, no wasm-bindgen; builds for native and
//! `wasm32-unknown-unknown`; no input, however hostile, panics, hangs or allocates
//! without a bound. Unverified and verified data are different types.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod archive;
pub mod audit;
pub mod b64;
pub mod bundle;
pub mod checkpoint;
pub mod event;
pub mod freshness;
pub mod hash;
pub mod jcs;
pub mod layout;
pub mod level;
pub mod merkle;
pub mod metadata;
pub mod note;
pub mod policy;
pub mod proof;
pub mod session;
pub mod sigcheck;
pub mod tiles;
pub mod time;
pub mod trust;
pub mod verdict;
pub mod witness;
pub mod writer;

pub use hash::Hash;
