//! `make bench`: filling a mirror with `image-redirect seed` against skopeo,
//! between loopback docker-registry processes, on a set of images shaped as
//! charts' images are (a few base layers shared by many images, a few layers
//! of each image's own). A first copy, then the same plan again; skopeo copies
//! image by image (`copy --all`) and, where it applies, a repository at a time
//! (`sync`), each into an empty registry of its own.
//!
//! Not a test: it prints figures, and says whether the goals held (a first
//! copy in at most half of skopeo's time, a repeated seed under a second).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image_redirect_testbed::{Scratch, TestRegistry, noise, waited_children_cpu_time};

/// 24 images over 3 shared base layers of 24 MiB, each with 2 layers of 3 MiB of its own.
const IMAGES: usize = 24;
const BASES: usize = 3;
const BASE_SIZE: usize = 24 << 20;
const OWN_SIZE: usize = 3 << 20;
/// First copies by each copier, taking turns.
const ROUNDS: usize = 3;

fn main() {
    let upstream = TestRegistry::start("bench-upstream");
    let bases: Vec<Vec<u8>> = (0..BASES).map(|n| noise(n as u64, BASE_SIZE)).collect();
    let mut images = Vec::new();
    for n in 0..IMAGES {
        let (own1, own2) = (noise(1000 + 2 * n as u64, OWN_SIZE), noise(1001 + 2 * n as u64, OWN_SIZE));
        let layers: [&[u8]; 3] = [&bases[n % BASES], &own1, &own2];
        upstream.push_layers(&format!("apps/app{n}"), "1", &layers);
        images.push(format!("{}/apps/app{n}:1", upstream.host));
    }
    let total = BASES * BASE_SIZE + IMAGES * 2 * OWN_SIZE;
    println!("{IMAGES} images, {} MiB in {} distinct blobs", total >> 20, BASES + 2 * IMAGES + IMAGES);

    let synced = TestRegistry::start("bench-sync");
    let dir = Scratch::new("bench-seed");
    let list = dir.path().join("images.txt");
    std::fs::write(&list, images.iter().map(|image| format!("{image}\n")).collect::<String>()).unwrap();
    // Into an empty registry of its own, `jobs` images at a time.
    let seed = |mirror: &TestRegistry, jobs: &str| {
        let settings = dir.path().join(format!("settings-{jobs}.yaml"));
        let mapping = format!("mappings: [{{source: \"{}\", target: \"{}/mirror\"}}]\n", upstream.host, mirror.host);
        std::fs::write(&settings, mapping).unwrap();
        run(Command::new(env!("CARGO_BIN_EXE_image-redirect"))
            .args([
                "seed",
                "--settings",
                settings.to_str().unwrap(),
                "--images",
                list.to_str().unwrap(),
                "--jobs",
                jobs,
            ])
            .args(["--plain-http", &upstream.host, "--plain-http", &mirror.host]))
    };
    // The machine's pace drifts between runs by more than a round lasts:
    // seed and skopeo take turns, each into an empty registry, and the
    // medians are compared.
    let skopeo_each = |mirror: &TestRegistry| {
        time(|| {
            for image in &images {
                let path = image.split_once('/').unwrap().1;
                run(skopeo_command("copy").args([
                    "--all",
                    &format!("docker://{image}"),
                    &format!("docker://{}/{path}", mirror.host),
                ]));
            }
        })
    };
    let mut seeds = Vec::new();
    let mut skopeos = Vec::new();
    let mut seeded = Vec::new();
    for round in 0..ROUNDS {
        let mirror = TestRegistry::start(&format!("bench-seed-{round}"));
        seeds.push(costs(&[&upstream, &mirror], || seed(&mirror, "4")));
        seeded.push(mirror);
        let mirror = TestRegistry::start(&format!("bench-skopeo-{round}"));
        skopeos.push(costs(&[&upstream, &mirror], || skopeo_each(&mirror)));
    }
    let again = seed(&seeded[0], "4");
    let serial = seed(&TestRegistry::start("bench-seed-jobs-1"), "1");
    let wide = seed(&TestRegistry::start("bench-seed-jobs-8"), "8");
    // skopeo sync reads the whole set from one YAML file, registry by registry.
    let repositories: String = images
        .iter()
        .map(|image| format!("    {}: [\"1\"]\n", image.split_once('/').unwrap().1.trim_end_matches(":1")))
        .collect();
    let yaml = dir.path().join("sync.yaml");
    std::fs::write(&yaml, format!("{}:\n  tls-verify: false\n  images:\n{repositories}", upstream.host)).unwrap();
    let sync =
        run(skopeo_command("sync").args(["--all", "--src", "yaml", "--dest", "docker"]).arg(&yaml).arg(&synced.host));
    let (first, seed_cpu) = median(&seeds);
    let (copy, skopeo_cpu) = median(&skopeos);
    println!("seed, first copy        {:>8.2} s  (rounds: {})", secs(first), rounds(&seeds));
    println!("seed, the same plan     {:>8.2} s", secs(again));
    println!("seed --jobs 1           {:>8.2} s", secs(serial));
    println!("seed --jobs 8           {:>8.2} s", secs(wide));
    println!("skopeo copy --all, each {:>8.2} s  (rounds: {})", secs(copy), rounds(&skopeos));
    println!("skopeo sync (yaml)      {:>8.2} s", secs(sync));
    // A copy takes at least its CPU time over the cores: the registries'
    // share is the same under any client, the client's own is what differs.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for (copier, (registries, client)) in [("seed, first copy", seed_cpu), ("skopeo copy", skopeo_cpu)] {
        let floor = (registries + client) / cores as u32;
        println!(
            "CPU time, {copier} (its median round): registries {:.2} s, client {:.2} s; no less than {:.2} s on {cores} cores",
            secs(registries),
            secs(client),
            secs(floor)
        );
    }
    println!(
        "goals: first copy at most half of skopeo's: {}; repeated seed under a second: {}",
        verdict(first * 2 <= copy),
        verdict(again < Duration::from_secs(1))
    );
}

/// A wall time and CPU time per round.
type Round = (Duration, (Duration, Duration));

/// The round of median wall time.
fn median(rounds: &[Round]) -> Round {
    let mut sorted = rounds.to_vec();
    sorted.sort_by_key(|(wall, _)| *wall);
    sorted[sorted.len() / 2]
}

fn rounds(rounds: &[Round]) -> String {
    rounds.iter().map(|(wall, _)| format!("{:.2}", secs(*wall))).collect::<Vec<_>>().join(", ")
}

/// `work`'s wall time, and the CPU time it cost `registries` and the commands it ran.
fn costs(registries: &[&TestRegistry], work: impl FnOnce() -> Duration) -> Round {
    // The last copy's 216 MiB are still being written back to disk: flushed
    // first, so that each copy pays for its own writes only.
    assert!(Command::new("sync").status().is_ok_and(|status| status.success()), "sync");
    let cpu = || registries.iter().map(|registry| registry.cpu_time()).sum::<Duration>();
    let (registries_before, clients_before) = (cpu(), waited_children_cpu_time());
    let wall = work();
    (wall, (cpu() - registries_before, waited_children_cpu_time() - clients_before))
}

fn skopeo_command(verb: &str) -> Command {
    let mut command = Command::new("skopeo");
    command.args(["--insecure-policy", verb, "--src-tls-verify=false", "--dest-tls-verify=false"]);
    if verb == "copy" {
        command.arg("--quiet");
    }
    command
}

/// Runs `command` to success; how long it took.
fn run(command: &mut Command) -> Duration {
    time(|| {
        let out = command.stdout(Stdio::null()).stderr(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    })
}

fn time(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn verdict(held: bool) -> &'static str {
    if held { "held" } else { "missed" }
}
