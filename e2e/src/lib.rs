//! Runs the built policy the way Kubewarden's policy-server does, so tests,
//! the demo and the benchmarks exercise the artifact users deploy rather than
//! the Rust crate behind it.
//!
//! - [`host`]: the wasm module compiled once, a fresh instance per call, and
//!   the host calls a policy may make;
//! - [`review`]: policy-server's sequence (`protocol_version`,
//!   `validate_settings`, `validate`) and the JSON Patch it derives;
//! - `oci` (feature `registry`): a real registry, for the mirror checks'
//!   digests and for the policy pushed and pulled as an OCI artifact;
//! - [`demo`]: the README's first command.

pub mod demo;
pub mod host;
#[cfg(feature = "registry")]
pub mod oci;
pub mod review;

pub use host::{NoRegistry, Policy, Registry};
pub use review::{Evaluation, Outcome};
