//! `containers-registries.conf` (v2), as a drop-in: one `[[registry]]` per
//! source, matched by path prefix as the policy's mappings are.

use serde::Serialize;

use super::{File, Loss, Mirror, Request, header, toml};

#[derive(Serialize)]
struct RegistriesConf<'a> {
    registry: Vec<Registry<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Registry<'a> {
    prefix: &'a str,
    location: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror_by_digest_only: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    insecure: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    blocked: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mirror: Vec<Endpoint<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Endpoint<'a> {
    location: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    insecure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_from_mirror: Option<&'static str>,
}

/// One `[[registry]]` per source: the route as its `location` (the matched
/// prefix is replaced, as the policy replaces a mapping's source), or, when
/// the policy would fall back, as a mirror of the source itself, which the
/// runtime tries first; `--no-fallback` then blocks the source, so only the
/// mirror is pulled from. `--digest-only` makes every route a mirror of its
/// source with `pull-from-mirror = "digest-only"` (which containers/image
/// refuses beside `mirror-by-digest-only = true`, so that key is left out):
/// tags are resolved at the source. Image names are matched as the runtime
/// normalises them (`nginx` is `docker.io/library/nginx`), which is how the
/// policy writes sources too.
pub fn file(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<File, String> {
    let insecure = request.scheme == "http";
    let registry = mirrors
        .iter()
        .map(|mirror| match mirror.fallback || request.digest_only {
            true => Registry {
                prefix: &mirror.source,
                location: &mirror.source,
                mirror_by_digest_only: (!request.digest_only).then_some(false),
                insecure: false,
                blocked: request.no_fallback,
                mirror: vec![Endpoint {
                    location: &mirror.route,
                    insecure,
                    pull_from_mirror: request.digest_only.then_some("digest-only"),
                }],
            },
            false => Registry {
                prefix: &mirror.source,
                location: &mirror.route,
                mirror_by_digest_only: None,
                insecure,
                blocked: false,
                mirror: Vec::new(),
            },
        })
        .collect();
    let reader =
        "CRI-O, Podman, Buildah and Skopeo read it as a drop-in: /etc/containers/registries.conf.d/image-redirect.conf";
    let text = toml(header(reader, lost), &RegistriesConf { registry })?;
    Ok(File { path: "registries.conf.d/image-redirect.conf".to_owned(), text })
}
