//! The waPC host: wasmtime through `wasmtime-provider`, the runtime
//! policy-server embeds.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use wapc::WapcHost;
use wasmtime_provider::{WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

/// Answers the policy's OCI host call (`kubewarden/oci/v1/manifest_digest`).
pub trait Registry: Send + Sync {
    /// The manifest digest of `image`, or why there is none.
    fn manifest_digest(&self, image: &str) -> Result<String, String>;
}

/// No registry behind the host: every lookup fails, as an unreachable one would.
pub struct NoRegistry;

impl Registry for NoRegistry {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        Err(format!("no registry is reachable from this host (asked for {image})"))
    }
}

/// A policy module, compiled once; every call runs on a fresh instance.
pub struct Policy {
    pre: WasmtimeEngineProviderPre,
    registry: Arc<dyn Registry>,
}

impl Policy {
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the policy at {}", path.display()))?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(module: &[u8]) -> Result<Self> {
        let pre = WasmtimeEngineProviderBuilder::new()
            .module_bytes(module)
            .build_pre()
            .context("cannot compile the policy module")?;
        Ok(Self { pre, registry: Arc::new(NoRegistry) })
    }

    /// The same compiled module, with OCI lookups answered by `registry`.
    pub fn with_registry(self, registry: Arc<dyn Registry>) -> Self {
        Self { registry, ..self }
    }

    /// Calls `operation` on a fresh instance, as policy-server does for every
    /// request: no state survives from one call to the next.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.instantiate()?.call(operation, payload)
    }

    /// A new instance of the compiled module, initialised and ready for calls.
    pub fn instantiate(&self) -> Result<Instance> {
        let engine = self.pre.rehydrate(None).context("cannot instantiate the policy")?;
        let registry = Arc::clone(&self.registry);
        let callback = move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
            answer(registry.as_ref(), binding, namespace, operation, payload)
        };
        let host = WapcHost::new(Box::new(engine), Some(Box::new(callback))).context("cannot start the waPC host")?;
        Ok(Instance { host })
    }
}

/// One instance; calls on it share the guest's memory (benchmarks use this
/// to separate the cost of an instance from the cost of a call).
pub struct Instance {
    host: WapcHost,
}

impl Instance {
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.host.call(operation, payload).with_context(|| format!("the policy's {operation} failed"))
    }
}

type CallResult = std::result::Result<Vec<u8>, Box<dyn Error + Send + Sync>>;

/// The host calls a policy may make.
fn answer(registry: &dyn Registry, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> CallResult {
    match (binding, namespace, operation) {
        // The SDK's logger reports through the host and panics on an error answer.
        ("kubewarden", "tracing", "log") => Ok(Vec::new()),
        ("kubewarden", "oci", "v1/manifest_digest") => {
            let image: String = serde_json::from_slice(payload)?;
            let digest = registry.manifest_digest(&image)?;
            Ok(serde_json::to_vec(&serde_json::json!({ "digest": digest }))?)
        }
        _ => Err(format!("this host does not answer {binding}/{namespace}/{operation}").into()),
    }
}
