//! The cost of one admission in the wasm runtime, on the real policy.wasm,
//! against the floor guests (e2e/floor): the price of the waPC protocol itself.
//!
//! For each case: median and p99 of one evaluation on a fresh instance
//! (instantiate the precompiled module + one `validate`, as policy-server
//! does) and of `validate` alone on a warm instance; then policy / floor.
//! Targets are reported, never asserted: see the README's results table.
//!
//! `make bench` builds the wasm modules and runs this; the paths come from
//! POLICY_WASM, FLOOR_MUTATE_WASM and FLOOR_ACCEPT_WASM. `make bench
//! BENCH=mappings` runs only the cases whose name contains "mappings".

use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::sync::Arc;

use image_redirect_e2e::demo::{fixtures, read_json};
use image_redirect_e2e::{Policy, Registry};
use serde_json::{Value, json};

/// Each measurement runs for about this long (at least MIN_RUNS times).
const BUDGET: Duration = Duration::from_millis(1500);
const MIN_RUNS: usize = 30;

struct Case {
    name: &'static str,
    /// Whether the policy mutates: compared with the mutating floor, else the accepting one.
    mutates: bool,
    /// Whether the settings check images (digest lookups through the host).
    verifies: bool,
    payload: Vec<u8>,
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn main() {
    let module = |var: &str, default: &str| -> PathBuf {
        std::env::var_os(var).map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(default), PathBuf::from)
    };
    let policy_path = module("POLICY_WASM", "../policy.wasm");
    let floors = (
        module("FLOOR_MUTATE_WASM", "../target/floor/mutate.wasm"),
        module("FLOOR_ACCEPT_WASM", "../target/floor/accept.wasm"),
    );
    let (policy, compile) = load(&policy_path);
    let (floor_mutate, floor_compile) = load(&floors.0);
    let (floor_accept, _) = load(&floors.1);
    // Mirror checks: the same module, its digest lookups answered from memory,
    // so the cost shown is the host call itself, not a registry round trip.
    let verifying = Policy::from_bytes(&std::fs::read(&policy_path).unwrap()).unwrap().with_registry(Arc::new(Local));
    println!("module           size (bytes)  compile");
    for (name, path, took) in [("policy.wasm", &policy_path, compile), ("floor (mutate)", &floors.0, floor_compile)] {
        println!("{name:<16} {:>12}  {}", std::fs::metadata(path).map(|m| m.len()).unwrap_or(0), show(took));
    }
    println!();
    println!(
        "{:<34} {:>19} {:>10} {:>6}   {:>19} {:>10} {:>6}",
        "case", "fresh median / p99", "floor", "ratio", "warm median / p99", "floor", "ratio"
    );
    // `cargo bench … -- WORDS` runs only the cases whose name contains WORDS.
    let only = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect::<Vec<_>>().join(" ");
    for case in cases().into_iter().filter(|case| case.name.contains(&only)) {
        let policy = if case.verifies { &verifying } else { &policy };
        let floor = if case.mutates { &floor_mutate } else { &floor_accept };
        let (fresh, fresh_floor) = (fresh(policy, &case.payload), fresh(floor, &case.payload));
        let (warm, warm_floor) = (warm(policy, &case.payload), warm(floor, &case.payload));
        println!(
            "{:<34} {:>9} / {:>7} {:>10} {:>6.2}   {:>9} / {:>7} {:>10} {:>6.2}",
            case.name,
            show(fresh.median),
            show(fresh.p99),
            show(fresh_floor.median),
            ratio(&fresh, &fresh_floor),
            show(warm.median),
            show(warm.p99),
            show(warm_floor.median),
            ratio(&warm, &warm_floor),
        );
    }
}

/// Every image is present, with one digest.
struct Local;

impl Registry for Local {
    fn manifest_digest(&self, _image: &str) -> Result<String, String> {
        Ok(format!("sha256:{}", "a".repeat(64)))
    }
}

fn load(path: &PathBuf) -> (Policy, Duration) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (run `make bench`)", path.display()));
    let start = Instant::now();
    let policy = Policy::from_bytes(&bytes).expect("the module compiles");
    (policy, start.elapsed())
}

/// Instantiate + validate, as policy-server evaluates every request.
fn fresh(policy: &Policy, payload: &[u8]) -> Stats {
    measure(|| {
        policy.call("validate", payload).expect("validate");
    })
}

/// validate alone, on one instance.
fn warm(policy: &Policy, payload: &[u8]) -> Stats {
    let instance = policy.instantiate().expect("an instance");
    measure(|| {
        instance.call("validate", payload).expect("validate");
    })
}

fn measure(mut run: impl FnMut()) -> Stats {
    for _ in 0..3 {
        run();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < MIN_RUNS || start.elapsed() < BUDGET {
        let one = Instant::now();
        run();
        times.push(one.elapsed());
    }
    times.sort_unstable();
    Stats { median: times[times.len() / 2], p99: times[(times.len() * 99 / 100).min(times.len() - 1)] }
}

fn ratio(policy: &Stats, floor: &Stats) -> f64 {
    policy.median.as_secs_f64() / floor.median.as_secs_f64()
}

fn show(d: Duration) -> String {
    match d.as_micros() {
        us if us >= 10_000 => format!("{:.1}ms", d.as_secs_f64() * 1e3),
        us => format!("{us}µs"),
    }
}

fn cases() -> Vec<Case> {
    let pod = read_json(&fixtures().join("requests/pod-docker-hub.json")).unwrap()["request"].clone();
    let debug = read_json(&fixtures().join("requests/pod-ephemeral-debug.json")).unwrap()["request"].clone();
    let hub = json!({"mappings": [{"source": "docker.io", "target": "harbor.edge.local/dockerhub", "pullSecret": "harbor-creds"}]});
    let miss = json!({"mappings": [{"source": "quay.io", "target": "harbor.edge.local/quay"}]});
    let prefix = json!({"prefix": {"target": "10.10.254.254:8000/spectro-images"}});
    let thousand: Vec<Value> = (0..1000)
        .map(|i| json!({"source": format!("registry-{i}.example.com"), "target": format!("mirror.local/r{i}")}))
        .chain([json!({"source": "docker.io", "target": "harbor.edge.local/dockerhub"})])
        .collect();
    let case = |name, mutates, request: &Value, settings: &Value| Case {
        name,
        mutates,
        verifies: ["\"verify\":true", "\"pinDigest\""].iter().any(|check| settings.to_string().contains(check)),
        payload: serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap(),
    };
    vec![
        case("pod, 4 images, mapping hit", true, &pod, &hub),
        case("pod, 4 images, no hit", false, &pod, &miss),
        case("pod, disabled", false, &pod, &json!({"enabled": false, "mappings": hub["mappings"]})),
        case("deployment, 50 containers, hit", true, &with_containers(&pod, 50, true), &hub),
        case("pod, 100 containers, hit", true, &with_containers(&pod, 100, false), &hub),
        case("pod, 1000 containers, hit", true, &with_containers(&pod, 1000, false), &hub),
        case("ephemeralcontainers update, hit", true, &debug, &prefix),
        case("pod, 1000 mappings, hit", true, &pod, &json!({"mappings": thousand})),
        case("pod, 100 mappings, hit", true, &pod, &json!({"mappings": thousand[900..].to_vec()})),
        case(
            "pod, 4 images, verify (local answer)",
            true,
            &pod,
            &json!({"mappings": [{"source": "docker.io", "target": "harbor.edge.local/dockerhub", "verify": true}]}),
        ),
        // One lookup per image, as verify; then two (the source's tag, the
        // mirror's digest), the host answering from memory both times.
        case("pod, 4 images, pin mirror (local)", true, &pod, &pinned("mirror")),
        case("pod, 4 images, pin source (local)", true, &pod, &pinned("source")),
    ]
}

/// Docker Hub to the mirror, pinned to the digest of `pin_digest`.
fn pinned(pin_digest: &str) -> Value {
    json!({"mappings": [{"source": "docker.io", "target": "harbor.edge.local/dockerhub", "pinDigest": pin_digest}]})
}

/// The fixture Pod with `n` copies of its first container (in a Deployment's template when `deployment`).
fn with_containers(pod: &Value, n: usize, deployment: bool) -> Value {
    let mut request = pod.clone();
    let template = pod["object"]["spec"]["containers"][0].clone();
    let containers: Vec<Value> = (0..n)
        .map(|i| {
            let mut c = template.clone();
            c["name"] = json!(format!("c{i}"));
            c["image"] = json!(format!("app{i}:1.{i}"));
            c
        })
        .collect();
    request["object"]["spec"]["containers"] = Value::Array(containers);
    if deployment {
        let pod_object = request["object"].take();
        request["kind"] = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
        request["object"] = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": pod_object["metadata"], "spec": pod_object["spec"]}}});
    }
    request
}
