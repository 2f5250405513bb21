//! `image-redirect seed`: the images of some manifests, copied to where the
//! policy sends them (`--dry-run`: the plan only; `--check`: asked for only).

use anyhow::{Result, bail};
use image_redirect_cli::plan::Plan;

use super::read;
use crate::cli::{Output, SeedArgs, SettingsArg};

/// Exit status of `--check` when a destination is missing or differs (as `audit` has it for "not ready").
pub const NOT_READY: u8 = 3;

pub fn run(args: &SeedArgs) -> Result<u8> {
    if args.check && args.lock.is_some() && args.settings.is_none() {
        return registry::check(args, None);
    }
    let plan = plan(args)?;
    if args.check {
        return registry::check(args, Some(&plan));
    }
    if args.dry_run {
        print!(
            "{}",
            match args.output {
                Output::Text => plan.render(),
                Output::Json => plan.render_json(),
            }
        );
        return Ok(0);
    }
    registry::copy(args, &plan)
}

fn plan(args: &SeedArgs) -> Result<Plan> {
    let Some(path) = &args.settings else { bail!("seed needs --settings (only --check --lock does without)") };
    if args.files.is_empty() && args.images.is_none() && args.from.is_none() {
        bail!("nothing to seed: name manifests (FILE..., `-` for stdin), --images FILE or --from DIR");
    }
    let settings = SettingsArg { path: path.clone() }.load()?;
    let mut plan = Plan::default();
    if let Some(dir) = &args.from {
        let names = registry::bundled(dir)?;
        plan.add_images(&names, &settings, &args.namespace).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    }
    for file in &args.files {
        plan.add_manifest(&read(file)?, &settings, &args.namespace).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    }
    if let Some(file) = &args.images {
        plan.add_images(&read(file)?, &settings, &args.namespace).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    }
    Ok(plan)
}

#[cfg(feature = "seed")]
mod registry {
    use std::sync::Arc;

    use anyhow::{Context, Result};
    use image_redirect_cli::plan::Plan;
    use image_redirect_cli::seed::auth::{AuthFiles, Environment};
    use image_redirect_cli::seed::client::{Options, Registries};
    use image_redirect_cli::seed::layout::Layout;
    use image_redirect_cli::seed::lock::{self, Lock};
    use image_redirect_cli::seed::progress::{Bars, Lines, Report};
    use image_redirect_cli::seed::{self, Copy, Outcome, Run};

    use super::NOT_READY;
    use crate::cli::SeedArgs;
    use crate::command::{FAILED, write_file};

    pub fn copy(args: &SeedArgs, plan: &Plan) -> Result<u8> {
        // A bundle names each image by its source: the edge's settings decide its destination.
        let copies: Vec<Copy> = plan
            .copies()
            .map(|(source, destination)| Copy {
                source: source.to_owned(),
                destination: if args.to.is_some() { source } else { destination }.to_owned(),
            })
            .collect();
        let registries = registries(args)?;
        // indicatif draws nothing where stderr is not a terminal: plain lines there.
        let report: Arc<dyn Report> = match std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            true => Arc::new(Bars::new(copies.len())),
            false => Arc::new(Lines::default()),
        };
        let runtime = runtime()?;
        let platforms = args.platform.iter().map(|platform| platform.parse()).collect::<Result<_, String>>();
        let platforms = platforms.map_err(|e| anyhow::anyhow!("--platform {e}"))?;
        let run = Run { jobs: args.jobs.into(), platforms };
        let outcomes = match (&args.to, &args.from) {
            (Some(dir), _) => {
                let layout = Layout::create(dir).with_context(|| format!("--to {}", dir.display()))?;
                runtime.block_on(seed::bundle(&registries, &layout, &copies, &run, report.clone()))
            }
            (None, Some(dir)) => {
                runtime.block_on(seed::unbundle(&open(dir)?, &registries, &copies, &run, report.clone()))
            }
            (None, None) => runtime.block_on(seed::seed(&registries, &copies, &run, report.clone())),
        };
        eprintln!("{}", report.summary());
        if let Some(path) = &args.lock {
            write_file(path, &Lock::of(&copies, &outcomes).to_json(), false)?;
        }
        let failed = outcomes.iter().any(|outcome| matches!(outcome, Outcome::Failed(_)));
        Ok(if failed { FAILED } else { 0 })
    }

    /// Each destination asked for: at the digest the lock records, or, from the plan, at all.
    pub fn check(args: &SeedArgs, plan: Option<&Plan>) -> Result<u8> {
        let wanted: Vec<(String, Option<String>)> = match (&args.lock, plan) {
            (Some(path), _) => {
                Lock::read(path)?.images.into_iter().map(|image| (image.destination, Some(image.digest))).collect()
            }
            (None, Some(plan)) => plan.copies().map(|(_, destination)| (destination.to_owned(), None)).collect(),
            (None, None) => Vec::new(),
        };
        let registries = registries(args)?;
        let problems = runtime()?.block_on(lock::check(&registries, &wanted));
        let problems: Vec<String> = problems.into_iter().flatten().collect();
        for problem in &problems {
            println!("{problem}");
        }
        eprintln!("check: {} of {} destinations missing or different", problems.len(), wanted.len());
        Ok(if problems.is_empty() { 0 } else { NOT_READY })
    }

    /// The source references a bundle holds, one per line, as `--images` reads them.
    pub fn bundled(dir: &std::path::Path) -> Result<String> {
        Ok(open(dir)?.names().iter().map(|name| format!("{name}\n")).collect())
    }

    fn open(dir: &std::path::Path) -> Result<Layout> {
        Layout::open(dir).with_context(|| format!("--from {}", dir.display()))
    }

    fn registries(args: &SeedArgs) -> Result<Registries> {
        // rustls without a default provider: ring, which builds without a C toolchain.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let credentials = AuthFiles::read(args.authfile.as_deref(), &Environment::of_process())?;
        Registries::new(&Options { plain_http: args.plain_http.clone(), ca_file: args.ca_file.clone(), credentials })
    }

    fn runtime() -> Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")
    }
}

#[cfg(not(feature = "seed"))]
mod registry {
    use anyhow::{Result, bail};
    use image_redirect_cli::plan::Plan;

    use crate::cli::SeedArgs;

    const WITHOUT: &str = "this image-redirect is built without the `seed` feature: only --dry-run is available";

    pub fn copy(_: &SeedArgs, _: &Plan) -> Result<u8> {
        bail!(WITHOUT)
    }

    pub fn check(_: &SeedArgs, _: Option<&Plan>) -> Result<u8> {
        bail!(WITHOUT)
    }

    pub fn bundled(_: &std::path::Path) -> Result<String> {
        bail!(WITHOUT)
    }
}
