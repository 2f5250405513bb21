//! Which sources a format redirects, where to, and what it loses on the way.

use std::collections::BTreeSet;

use image_redirect_policy::reference::{self, RegistryPath};
use image_redirect_policy::rules::{Destination, Keep, OnMissing, Rules, Via};
use image_redirect_policy::settings::Settings;

use super::{Format, Loss, Mirror, Place, Request};

/// The mirrors the runtime can carry out exactly, and what it cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub mirrors: Vec<Mirror>,
    pub lost: Vec<Loss>,
    pub notes: Vec<String>,
}

pub fn plan(settings: &Settings, request: &Request) -> Result<Plan, String> {
    let (rules, named, format) = (&settings.rules, request.registries, request.format);
    let mut plan = Plan::default();
    let sources = sources(rules, named, format, &mut plan.lost)?;
    if rules.prefix().is_some() {
        plan.lost.push(match named {
            [] => Loss::PrefixUnnamed,
            _ => Loss::PrefixScope { named: named.to_vec() },
        });
    }
    for source in &sources {
        route(rules, source, request, &mut plan);
    }
    for mirror in &plan.mirrors {
        if sources.iter().any(|source| reference::is_under(&mirror.route, source)) {
            plan.lost.push(Loss::MirrorMirrored { source: mirror.source.clone(), route: mirror.route.clone() });
        }
    }
    exclusions(settings, &mut plan.lost);
    Ok(plan)
}

/// Exclusions, by image and by namespace: no runtime has them.
fn exclusions(settings: &Settings, lost: &mut Vec<Loss>) {
    for glob in settings.rules.exclusions() {
        lost.push(Loss::ExcludedImages { glob: glob.as_str().to_owned() });
    }
    if !settings.excluded_namespaces().is_empty() {
        lost.push(Loss::ExcludedNamespaces { namespaces: settings.excluded_namespaces().to_vec() });
    }
}

/// What the runtime is told to redirect: the sources of mappings (where the
/// format has no paths, only those naming a whole registry; the others are
/// lost) and the registries named with `--registry`.
fn sources(rules: &Rules, named: &[String], format: Format, lost: &mut Vec<Loss>) -> Result<BTreeSet<String>, String> {
    let mut sources = BTreeSet::new();
    for mapping in rules.mappings() {
        let source = mapping.source.as_str();
        if source.contains('/') && !format.matches_paths() {
            lost.push(Loss::PathScoped { source: source.to_owned(), target: mapping.to.target.as_str().to_owned() });
        } else {
            sources.insert(source.to_owned());
        }
    }
    for name in named {
        let path = RegistryPath::parse(name).map_err(|e| format!("--registry {name:?}: {e}"))?;
        if path.as_str().contains('/') {
            return Err(format!("--registry {name:?}: a registry, without a path"));
        }
        sources.insert(path.as_str().to_owned());
    }
    Ok(sources)
}

/// The route of one source into `plan`: a mirror and what it loses, or a note.
fn route(rules: &Rules, source: &str, request: &Request, plan: &mut Plan) {
    match rules.route_registry(source) {
        Ok((route, via, destination)) => {
            for loss in destination_losses(via, destination, request) {
                // A prefix serves every registry: say so once.
                if !plan.lost.contains(&loss) {
                    plan.lost.push(loss);
                }
            }
            let fallback = destination.needs_lookup() && destination.on_missing == OnMissing::Keep;
            plan.mirrors.push(Mirror { source: source.to_owned(), route, fallback });
        }
        Err(Keep::PortUnderPrefix(_)) => plan.notes.push(format!(
            "--registry {source}: its port cannot become a path segment under the prefix; the policy leaves \
             these images alone, and so does this export"
        )),
        Err(_) => plan.notes.push(format!("--registry {source}: no rule redirects it; nothing exported for it")),
    }
}

/// What the destination asks for that a node cannot do as the policy does.
/// Where the runtime tries mirrors before the source (`registries.conf`,
/// OpenShift), the check with `onMissing: keep` carries over.
fn destination_losses(via: Via, destination: &Destination, request: &Request) -> Vec<Loss> {
    let place = match via {
        Via::Prefix | Via::MappingThenPrefix(_) => Place::Prefix,
        Via::Mapping(m) => Place::Mapping(m.source.as_str().to_owned()),
    };
    let mut lost = Vec::new();
    if let Some(secret) = &destination.pull_secret {
        lost.push(Loss::PullSecret {
            place: place.clone(),
            secret: secret.clone(),
            target: destination.target.as_str().to_owned(),
        });
    }
    if request.format.tries_mirrors_first() {
        if destination.needs_lookup() && destination.on_missing == OnMissing::Reject {
            // --digest-only keeps the source as the registry's location.
            lost.push(Loss::Reject { place: place.clone(), to_source: request.digest_only });
        }
        if destination.pin_digest.pins() {
            lost.push(Loss::PinDigest { place });
        }
    } else if destination.needs_lookup() {
        lost.push(Loss::NotChecked { place });
    }
    lost
}
