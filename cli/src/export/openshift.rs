//! OpenShift and OKD: an `ImageTagMirrorSet` and an `ImageDigestMirrorSet`
//! (`config.openshift.io/v1`) with one entry per source. Tag sets apply to
//! references by tag only, digest sets to references by digest only, and the
//! policy redirects both, so every source is in both (`--digest-only`: the
//! digest set alone). Sources match by path prefix, the most specific first,
//! and the mirror replaces the matched part, as a mapping does; the
//! machine-config operator writes them into each node's `registries.conf`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{File, Loss, Mirror, Request, header, yaml_documents};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MirrorSet<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: Spec<'a>,
}

#[derive(Serialize)]
struct Metadata {
    name: &'static str,
}

/// One list, under the key its kind reads (`imageTagMirrors`, `imageDigestMirrors`).
type Spec<'a> = BTreeMap<&'static str, Vec<Entry<'a>>>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    source: &'a str,
    mirrors: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror_source_policy: Option<&'static str>,
}

/// Mirror sets name no scheme: a plain-HTTP mirror is declared insecure in
/// the cluster's image configuration, which this export does not own.
pub fn losses(request: &Request, mirrors: &[Mirror]) -> Vec<Loss> {
    let mut hosts: Vec<String> = mirrors.iter().map(|mirror| mirror.host().to_owned()).collect();
    hosts.sort();
    hosts.dedup();
    match request.scheme {
        "http" if !hosts.is_empty() => vec![Loss::PlainHttp { hosts }],
        _ => Vec::new(),
    }
}

pub fn file(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<File, String> {
    let entries = || {
        mirrors
            .iter()
            .map(|mirror| Entry {
                source: &mirror.source,
                mirrors: [&mirror.route],
                mirror_source_policy: request.no_fallback.then_some("NeverContactSource"),
            })
            .collect()
    };
    let set = |kind, spec| MirrorSet {
        api_version: "config.openshift.io/v1",
        kind,
        metadata: Metadata { name: "image-redirect" },
        spec,
    };
    // `--digest-only`: no tag set, so references by tag go to the source.
    let tags = (!request.digest_only).then(|| set("ImageTagMirrorSet", Spec::from([("imageTagMirrors", entries())])));
    let digests = set("ImageDigestMirrorSet", Spec::from([("imageDigestMirrors", entries())]));
    let sets: Vec<_> = tags.into_iter().chain([digests]).collect();
    let reader = "OpenShift and OKD apply it as cluster resources (oc apply -f image-redirect-mirror-sets.yaml); the \
                  machine-config operator writes each node's registries.conf from them";
    Ok(File { path: "image-redirect-mirror-sets.yaml".to_owned(), text: yaml_documents(header(reader, lost), &sets)? })
}
