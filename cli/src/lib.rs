//! The policy's engine as a command: export its settings as node-level
//! registry configuration, preview what it does to manifests, import
//! Palette Edge user-data as its settings, plan what `seed` copies, and
//! audit what a cluster still pulls from outside the mirrors.
//!
//! Everything that decides lives in the policy crate (`image_redirect_policy`,
//! built without its waPC layer); this crate reads YAML and lays out results.

pub mod audit;
pub mod export;
pub mod import;
pub mod manifests;
pub mod plan;
#[cfg(feature = "seed")]
pub mod seed;
