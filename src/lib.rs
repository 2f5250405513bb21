//! image-redirect-policy: a Kubewarden policy that rewrites the images of
//! workloads so they are pulled from a mirror or a local registry.
//!
//! This file only wires the waPC operations to the modules; the policy
//! itself is pure and host-independent (see [`admission::admit`]), so the
//! same engine also builds without the `wapc` feature, for the native command
//! and the browser playground.
//!
//! Data flows one way: [`admission`] reads the request → [`workload`] finds
//! the images in the admitted JSON text (in a pod spec, or at the
//! [`fieldpath`]s the settings list for other kinds) → [`rules`] decides each image →
//! [`reference`] formats the result → [`response`] splices it back and
//! answers, or in report mode [`report`] names what would move. [`preview`]
//! runs the same path over a manifest, per container.

pub mod admission;
pub mod fieldpath;
pub mod glob;
pub mod json;
pub mod mirror;
pub mod preview;
pub mod reference;
pub mod report;
pub mod response;
pub mod rules;
pub mod settings;
pub mod splice;
pub mod workload;

#[cfg(feature = "wapc")]
mod guest {
    use kubewarden_policy_sdk::host_capabilities::oci;
    use kubewarden_policy_sdk::protocol_version_guest;
    use wapc_guest::{CallResult, register_function};

    use crate::{admission, mirror};

    #[unsafe(no_mangle)]
    pub extern "C" fn wapc_init() {
        register_function("validate", validate);
        register_function("validate_settings", validate_settings);
        register_function("protocol_version", protocol_version_guest);
    }

    fn validate(payload: &[u8]) -> CallResult {
        Ok(admission::validate(payload, &HostMirror))
    }

    fn validate_settings(payload: &[u8]) -> CallResult {
        Ok(admission::validate_settings(payload))
    }

    /// Lookups answered by the host (`oci/v1/manifest_digest`), which caches them.
    struct HostMirror;

    impl mirror::Mirror for HostMirror {
        fn manifest_digest(&self, image: &str) -> Result<String, String> {
            oci::get_manifest_digest(image).map(|answer| answer.digest).map_err(|e| e.to_string())
        }
    }
}
