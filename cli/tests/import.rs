//! `image-redirect import palette`: Palette Edge user-data in, settings,
//! policy and pull secrets out; every error names its user-data path, every
//! loss is a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use image_redirect_cli::export::{self, Format};
use image_redirect_cli::import::{self, Import, NodeConfig, Options};
use image_redirect_cli::manifests;
use serde_json::{Value, json};

#[path = "common/golden.rs"]
mod golden;
use golden::Golden;

const OPTIONS: Options =
    Options { primary_registry: None, secret_namespace: "default", module: None, node_config: None };

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One of Palette's documented setups, as Edge user-data (e2e/fixtures/user-data/).
fn example(name: &str) -> String {
    std::fs::read_to_string(root().join(format!("e2e/fixtures/user-data/{name}.yaml"))).unwrap()
}

fn import(user_data: &str, primary_registry: Option<&str>) -> Result<Import, Vec<String>> {
    import::palette(user_data, &Options { primary_registry, ..OPTIONS })
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap()
}

const RULES: &str = "stylus.externalRegistries.registryMappingRules";

/// Name, user-data, the command-line options, the lines expected.
type Case<'a> = (&'a str, &'a str, Options<'a>, &'a [&'a str]);

/// `--primary-registry` as in Palette's Harbor Edge-Native Config pack.
const HUB: Options = Options { primary_registry: Some("10.10.100.45:30003"), ..OPTIONS };

/// The cases whose lines, as `lines` reads them from the outcome, are not those expected.
fn mismatches(cases: &[Case], lines: impl Fn(Result<Import, Vec<String>>) -> Option<Vec<String>>) -> Vec<String> {
    let mismatch = |&(name, user_data, options, expected): &Case| {
        let outcome = import::palette(user_data, &options);
        let shown = format!("{name}: {outcome:#?}");
        (lines(outcome).is_none_or(|lines| lines != expected)).then_some(shown)
    };
    cases.iter().filter_map(mismatch).collect()
}

#[test]
fn user_data_the_policy_would_refuse_is_an_error_naming_its_path() {
    #[rustfmt::skip]
    let cases: [Case; 23] = [
        ("not_yaml", "stylus: [", OPTIONS, &["not YAML: did not find expected node content at line 2 column 1, while parsing a flow node"]),
        ("stylus_not_a_map", "stylus: [1]", OPTIONS, &["stylus: expected a map, found a list"]),
        ("user_data_not_a_map", "[stylus]", OPTIONS, &["user-data: expected a map, found a list"]),
        ("empty_user_data", "", OPTIONS, &["stylus: nothing to redirect: set mappings or prefix (or enabled: false)"]),
        ("nothing_to_redirect", "install: {poweroff: true}", OPTIONS, &["stylus: nothing to redirect: set mappings or prefix (or enabled: false)"]),
        ("switch_not_a_boolean", "stylus: {imageRedirectWebhook: {enable: \"no\"}, registryCredentials: {domain: a.io}}", OPTIONS,
            &["stylus.imageRedirectWebhook.enable: expected true or false, found a string"]),
        ("switches_disagree", "stylus: {imageRedirectWebhook: {enable: true}, webhook: {enable: false}, registryCredentials: {domain: a.io}}", OPTIONS,
            &["stylus.imageRedirectWebhook.enable: true, but stylus.webhook.enable is false: keep one"]),
        ("domain_uppercase", "stylus: {registryCredentials: {domain: Harbor.local/x}}", OPTIONS,
            &["stylus.registryCredentials.domain: \"Harbor.local/x\" is not a valid registry path: uppercase letters are not allowed"]),
        ("domain_required", "stylus: {registryCredentials: {username: u, password: p}}", OPTIONS, &["stylus.registryCredentials.domain: is required"]),
        ("username_alone", "stylus: {registryCredentials: {domain: a.io, username: u}}", OPTIONS, &["stylus.registryCredentials: a username without a password"]),
        ("password_alone", "stylus: {registryCredentials: {domain: a.io, password: p}}", OPTIONS, &["stylus.registryCredentials: a password without a username"]),
        ("password_a_number", "stylus: {registryCredentials: {domain: a.io, username: u, password: 1234}}", OPTIONS,
            &["stylus.registryCredentials.password: expected a string (quote it), found a number"]),
        ("target_with_tag", "stylus: {externalRegistries: {registryMappingRules: {us-docker.pkg.dev/x: \"example.com/x:v1\"}}}", OPTIONS,
            &[r#"stylus.externalRegistries.registryMappingRules["us-docker.pkg.dev/x"]: "example.com/x:v1" is not a valid registry path: a tag is not allowed"#]),
        ("source_uppercase", "stylus: {externalRegistries: {registryMappingRules: {Quay.io: a.io/quay}}}", OPTIONS,
            &[r#"stylus.externalRegistries.registryMappingRules["Quay.io"]: "Quay.io" is not a valid registry path: uppercase letters are not allowed"#]),
        ("duplicate_source_after_normalising", "stylus: {externalRegistries: {registryMappingRules: {\"https://quay.io/\": a.io/q, quay.io: b.io/q}}}", OPTIONS,
            &[r#"stylus.externalRegistries.registryMappingRules["quay.io"]: duplicates the source of stylus.externalRegistries.registryMappingRules["https://quay.io/"]"#]),
        ("rules_not_a_map", "stylus: {externalRegistries: {registryMappingRules: [quay.io]}}", OPTIONS, &[&format!("{RULES}: expected a map, found a list")]),
        ("rule_key_not_a_string", "stylus: {externalRegistries: {registryMappingRules: {1: a.io}}}", OPTIONS, &[&format!("{RULES}: expected string keys, found a number")]),
        ("registry_without_domain", "stylus: {externalRegistries: {registries: [{username: u, password: p}], registryMappingRules: {quay.io: a.io}}}", OPTIONS,
            &["stylus.externalRegistries.registries[0].domain: is required"]),
        ("two_registries_one_secret", "stylus: {externalRegistries: {registries: [{domain: a.io/x_y, username: u, password: p}, {domain: a.io/x-y, username: v, password: q}], registryMappingRules: {quay.io: a.io/x-y}}}", OPTIONS,
            &["stylus.externalRegistries.registries[1].domain: its pull secret would be image-redirect-a.io-x-y, as for stylus.externalRegistries.registries[0]: keep one per domain"]),
        ("single_and_several_registries", "stylus: {registryCredentials: {domain: a.io}, externalRegistries: {registryMappingRules: {quay.io: a.io}}}", OPTIONS,
            &["stylus.registryCredentials: Palette reads one external registry here or several in stylus.externalRegistries, not both: keep one"]),
        ("single_registry_and_primary", "stylus: {registryCredentials: {domain: a.io}}", HUB,
            &["stylus.registryCredentials.domain: \"a.io\" and --primary-registry both send every image to one registry (a prefix); Palette does not document how the two combine: keep one"]),
        ("secret_namespace_invalid", "stylus: {registryCredentials: {domain: a.io}}", Options { secret_namespace: "Edge_Apps", ..OPTIONS },
            &["--secret-namespace: \"Edge_Apps\" is not a valid namespace name: use lower-case letters, digits and '-', starting and ending with a letter or digit"]),
        ("every_problem_at_once", "stylus: {webhook: {enable: 1}, externalRegistries: {registryMappingRules: {quay.io: Q.io, gcr.io: \"g.io/x:1\"}}}", Options { primary_registry: Some("harbor"), ..OPTIONS }, &[
            "stylus.webhook.enable: expected true or false, found a number",
            r#"--primary-registry: "harbor" is not a valid registry path: the first segment does not read as a registry (it needs a ".", a ":port" or to be "localhost")"#,
            r#"stylus.externalRegistries.registryMappingRules["quay.io"]: "Q.io" is not a valid registry path: uppercase letters are not allowed"#,
            r#"stylus.externalRegistries.registryMappingRules["gcr.io"]: "g.io/x:1" is not a valid registry path: a tag is not allowed"#,
        ]),
    ];
    let failures = mismatches(&cases, Result::err);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn what_the_policy_cannot_carry_out_is_a_warning() {
    let registry = "stylus.externalRegistries.registries[0]";
    #[rustfmt::skip]
    let cases: [Case; 8] = [
        ("single_registry_exactly", "stylus: {registryCredentials: {domain: a.io/x, username: u, password: p}}", OPTIONS, &[]),
        ("insecure", "stylus: {registryCredentials: {domain: a.io, insecure: true}}", OPTIONS,
            &["stylus.registryCredentials.insecure: skipping TLS verification for a.io is a setting of each node's container runtime, not of an admission policy (--node-config writes it)"]),
        ("certificates", "stylus: {externalRegistries: {registries: [{domain: a.io, certificates: [CA]}], registryMappingRules: {quay.io: a.io}}}", HUB,
            &[&format!("{registry}.certificates: the CA certificates of a.io are trusted by each node's container runtime, not by an admission policy: install them on the nodes (--node-config writes them)")]),
        ("repository_name", "stylus: {externalRegistries: {registries: [{domain: a.io, repositoryName: r}], registryMappingRules: {quay.io: a.io}}}", HUB,
            &[&format!("{registry}.repositoryName: has no equivalent in the policy, which sends images where the mapping rules say; ignored")]),
        ("images_no_rule_matches", "stylus: {externalRegistries: {registryMappingRules: {quay.io: a.io}}}", OPTIONS,
            &[&format!("{RULES}: an image no rule matches is left unchanged (where Palette's agent sends it with several registries is not documented): add a rule for it, or --primary-registry")]),
        ("target_port_under_prefix", "stylus: {externalRegistries: {registryMappingRules: {quay.io: \"a.io:5000/q\", gcr.io: a.io/g}}}", HUB,
            &[&format!("{RULES}[\"quay.io\"]: target \"a.io:5000/q\" has a port, which cannot become a path segment under the prefix 10.10.100.45:30003; the rule is left out")]),
        ("credentials_under_prefix", "stylus: {externalRegistries: {registries: [{domain: a.io, username: u, password: p}], registryMappingRules: {quay.io: a.io}}}", HUB,
            &[&format!("{registry}: under the prefix 10.10.100.45:30003 Pods pull from there, not from a.io: no pull secret for it (give its credentials to 10.10.100.45:30003 instead)")]),
        ("unknown_fields", "stylus: {registryCredentials: {domain: a.io, token: t}, webhook: {enable: true, port: 1}}", OPTIONS, &[
            "stylus.webhook.port: not a field this import knows; ignored",
            "stylus.registryCredentials.token: not a field this import knows; ignored",
        ]),
    ];
    let failures = mismatches(&cases, |import| import.ok().map(|import| import.warnings));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn what_the_operator_should_know_is_a_note() {
    #[rustfmt::skip]
    let cases: [(&str, &str, &[&str]); 4] = [
        ("https_dropped_silently", "stylus: {registryCredentials: {domain: \"https://a.io/x/\"}}", &[]),
        ("plain_http", "stylus: {registryCredentials: {domain: \"http://a.io/x\"}}",
            &["stylus.registryCredentials.domain: http://a.io/x is served over plain HTTP: pass --scheme http to `image-redirect export`"]),
        ("switched_off", "stylus: {webhook: {enable: false}}",
            &["stylus.webhook.enable: false: the policy is installed switched off (enabled: false) and redirects nothing"]),
        ("credentials_no_rule_uses", "stylus: {externalRegistries: {registries: [{domain: b.io, username: u, password: p}], registryMappingRules: {quay.io: a.io}}}",
            &["stylus.externalRegistries.registries[0]: no mapping rule sends images to b.io: no pull secret written for it"]),
    ];
    for (name, user_data, expected) in cases {
        assert_eq!(import(user_data, None).unwrap().notes, expected, "{name}");
    }
}

#[test]
fn the_single_registry_example_becomes_a_prefix_with_its_pull_secret() {
    let import = import(&example("single-registry"), None).unwrap();
    assert_eq!(
        import.settings,
        "\
# Imported from Palette Edge user-data by `image-redirect import palette`.
# Not carried out by the policy:
#   - stylus.registryCredentials.insecure: skipping TLS verification for 10.10.254.254:8000/spectro-images is a setting of each node's container runtime, not of an admission policy (--node-config writes it)
enabled: true
prefix:
  target: 10.10.254.254:8000/spectro-images
  pullSecret: image-redirect-10.10.254.254-8000-spectro-images
"
    );
    assert!(manifests::settings(&import.settings).is_ok());
}

#[test]
fn mapping_rules_get_the_pull_secret_of_the_registry_their_target_is_under() {
    let import = import(&example("multiple-registries"), None).unwrap();
    assert_eq!(
        yaml(&import.settings),
        json!({"enabled": true, "mappings": [
            {"source": "us-docker.pkg.dev/palette-images", "target": "example.registry.com/palette-images",
             "pullSecret": "image-redirect-example.registry.com-palette-images"},
            {"source": "gcr.io/spectro-images-public", "target": "example.registry.com/palette-images",
             "pullSecret": "image-redirect-example.registry.com-palette-images"},
            {"source": "somedomain.com/somepath", "target": "targetdomain.com/other/path"},
        ]})
    );
}

#[test]
fn the_policy_carries_the_settings_the_metadata_rules_and_the_opt_out_label() {
    let metadata = yaml(import::METADATA);
    for (name, primary) in [("single-registry", None), ("multiple-registries", Some("10.10.100.45:30003"))] {
        let import = import(&example(name), primary).unwrap();
        let policy = yaml(&import.policy);
        assert_eq!(policy["kind"], "ClusterAdmissionPolicy", "{name}");
        assert_eq!(policy["spec"]["settings"], yaml(&import.settings), "{name}");
        assert_eq!(policy["spec"]["rules"], metadata["rules"], "{name}");
        assert_eq!(policy["spec"]["mutating"], true, "{name}");
        assert_eq!(
            policy["spec"]["namespaceSelector"],
            json!({"matchExpressions": [{"key": "stylus.io/imageswap", "operator": "NotIn", "values": ["disable"]}]})
        );
        let version = env!("CARGO_PKG_VERSION");
        let module = format!("registry://ghcr.io/image-redirect-policy/policies/image-redirect:v{version}");
        assert_eq!(policy["spec"]["module"], module.as_str(), "{name}");
    }
}

#[test]
fn the_default_module_is_the_one_the_examples_deploy() {
    let example = yaml(&std::fs::read_to_string(root().join("examples/namespace-opt-out.yaml")).unwrap());
    assert_eq!(import::default_module().unwrap(), example["spec"]["module"].as_str().unwrap());
    let options = Options { module: Some("registry://127.0.0.1:5000/image-redirect:dev"), ..OPTIONS };
    let import = import::palette(&example_user_data(), &options).unwrap();
    assert_eq!(yaml(&import.policy)["spec"]["module"], "registry://127.0.0.1:5000/image-redirect:dev");
}

fn example_user_data() -> String {
    example("single-registry")
}

/// Each Secret's name and namespace, and its `.dockerconfigjson` decoded.
fn decoded_secrets(text: &str) -> Vec<(String, String, Value)> {
    let documents = manifests::documents(text).unwrap();
    let decode = |secret: &Value| {
        assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
        let config = BASE64.decode(secret["data"][".dockerconfigjson"].as_str().unwrap()).unwrap();
        let metadata = &secret["metadata"];
        let name = |key: &str| metadata[key].as_str().unwrap().to_owned();
        (name("name"), name("namespace"), serde_json::from_slice(&config).unwrap())
    };
    documents.iter().map(decode).collect()
}

#[test]
fn secrets_hold_each_registry_credentials_as_the_kubelet_reads_them() {
    let auth = |user: &str, password: &str| BASE64.encode(format!("{user}:{password}"));
    let options = Options { secret_namespace: "edge-apps", ..OPTIONS };
    let single = import::palette(&example("single-registry"), &options).unwrap();
    let secrets = single.secrets.unwrap();
    assert!(secrets.starts_with(
        "# Pull secrets imported from Palette Edge user-data by `image-redirect import palette`.\n\
         # They hold credentials. A pull secret must exist in every namespace whose Pods use it: these are in\n\
         # edge-apps; create them, with the same names, in each namespace whose Pods pull from these registries.\n"
    ));
    let domain = "10.10.254.254:8000/spectro-images";
    assert_eq!(
        decoded_secrets(&secrets),
        [(
            "image-redirect-10.10.254.254-8000-spectro-images".to_owned(),
            "edge-apps".to_owned(),
            json!({"auths": {domain: {
                "username": "ubuntu", "password": "example-password", "auth": auth("ubuntu", "example-password")
            }}}),
        )]
    );
    let several = import(&example("multiple-registries"), None).unwrap();
    let domain = "example.registry.com/palette-images";
    assert_eq!(
        decoded_secrets(&several.secrets.unwrap()),
        [(
            "image-redirect-example.registry.com-palette-images".to_owned(),
            "default".to_owned(),
            json!({"auths": {domain: {
                "username": "admin", "password": "example-password", "auth": auth("admin", "example-password")
            }}}),
        )]
    );
}

#[test]
fn no_credentials_no_secrets() {
    for (name, primary) in [("webhook-disabled", None), ("no-registry", Some("10.10.137.220:30003/spectro-images"))] {
        let import = import(&example(name), primary).unwrap();
        assert_eq!(import.secrets, None, "{name}");
        assert_eq!(import.documents().iter().map(|d| d.file).collect::<Vec<_>>(), ["settings.yaml", "policy.yaml"]);
    }
}

#[test]
fn secret_names_are_the_domain_as_a_secret_name_can_hold_it() {
    #[rustfmt::skip]
    let cases = [
        ("harbor.edge.local", "image-redirect-harbor.edge.local"),
        ("10.10.254.254:8000/spectro-images", "image-redirect-10.10.254.254-8000-spectro-images"),
        ("example.registry.com/palette-images", "image-redirect-example.registry.com-palette-images"),
        ("localhost:5000/a_b/c", "image-redirect-localhost-5000-a-b-c"),
        ("[::1]:5000", "image-redirect-1--5000"),
    ];
    for (domain, name) in cases {
        assert_eq!(import::secret_name(domain), name, "{domain}");
    }
}

#[test]
fn the_single_registry_example_exports_to_k3s() {
    let import = import(&example("single-registry"), None).unwrap();
    let settings = manifests::settings(&import.settings).unwrap();
    let registries = ["quay.io".to_owned()];
    let request = export::Request { format: Format::K3s, registries: &registries, ..Default::default() };
    let export = export::export(&settings, &request).unwrap();
    let text: BTreeMap<&str, &str> = export.files.iter().map(|f| (f.path.as_str(), f.text.as_str())).collect();
    let registries_yaml = yaml(text["registries.yaml"]);
    assert_eq!(
        registries_yaml,
        json!({"mirrors": {"quay.io": {
            "endpoint": ["https://10.10.254.254:8000"],
            "rewrite": {"^(.*)$": "spectro-images/quay.io/$1"},
        }}})
    );
    assert_eq!(
        export.lost.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "prefix: the policy moves images of every registry, the node only those named: quay.io",
            "prefix pullSecret image-redirect-10.10.254.254-8000-spectro-images: a node does not read Kubernetes \
             Secrets; give it the credentials for 10.10.254.254:8000/spectro-images in its registry configuration",
        ]
    );
}

/// Registries named for the prefix of the single-registry example, as `--registry`.
const NAMED: [&str; 2] = ["docker.io", "quay.io"];

fn node_config(runtime: Format) -> NodeConfig<'static> {
    static NAMED_OWNED: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| NAMED.map(str::to_owned).to_vec());
    NodeConfig { kairos: export::Kairos { runtime, stage: "boot" }, registries: &NAMED_OWNED, scheme: "https" }
}

#[test]
fn node_configs_match_their_golden_files() {
    #[rustfmt::skip]
    let cases = [
        ("single-registry", None, Format::K3s),
        ("single-registry", None, Format::Containerd),
        ("multiple-registries", None, Format::K3s),
        ("multiple-registries", Some("10.10.100.45:30003"), Format::Rke2),
        ("multiple-registries", Some("10.10.100.45:30003"), Format::Containerd),
        ("no-registry", Some("10.10.137.220:30003/spectro-images"), Format::K3s),
    ];
    let mut golden = Golden::default();
    for (name, primary_registry, runtime) in cases {
        let options = Options { primary_registry, node_config: Some(node_config(runtime)), ..OPTIONS };
        let import = import::palette(&example(name), &options).unwrap();
        let text = format!(
            "==> node-config.yaml <==\n{}==> notes <==\n{}==> warnings <==\n{}",
            import.node_config.unwrap(),
            import.notes.iter().map(|line| format!("{line}\n")).collect::<String>(),
            import.warnings.iter().map(|line| format!("{line}\n")).collect::<String>(),
        );
        let hub = if primary_registry.is_some() { "-primary" } else { "" };
        golden.check(&root().join(format!("cli/tests/golden/import/{name}{hub}.{}.txt", runtime.name())), &text);
    }
    golden.assert_fresh();
}

#[test]
fn with_a_node_config_the_node_trust_settings_are_notes_not_losses() {
    let registry = "stylus.externalRegistries.registries[0]";
    let node = Options { node_config: Some(node_config(Format::K3s)), ..HUB };
    #[rustfmt::skip]
    let cases: [(&str, &str, &[&str]); 2] = [
        ("insecure", "stylus: {registryCredentials: {domain: a.io, insecure: true}}",
            &["stylus.registryCredentials.insecure: the nodes skip TLS verification for a.io: node-config.yaml carries it, as the runtime's own setting"]),
        ("certificates", "stylus: {externalRegistries: {registries: [{domain: a.io, certificates: [CA]}], registryMappingRules: {quay.io: a.io}}}",
            &[&format!("{registry}.certificates: the nodes trust these CA certificates of a.io: node-config.yaml carries it, as the runtime's own setting")]),
    ];
    for (name, user_data, expected) in cases {
        let options = if name == "insecure" { Options { primary_registry: None, ..node } } else { node };
        let import = import::palette(user_data, &options).unwrap();
        assert_eq!(import.warnings, Vec::<String>::new(), "{name}");
        assert_eq!(
            import.notes.iter().filter(|note| !note.starts_with("node-config.yaml")).collect::<Vec<_>>(),
            expected,
            "{name}"
        );
    }
}

#[test]
fn the_node_config_gives_k3s_the_credentials_ca_and_tls_setting_of_each_registry_host() {
    let user_data = "stylus: {externalRegistries: {registries: [
        {domain: a.io/x, username: u, password: p, certificates: [\"PEM1\", \"PEM2\"]},
        {domain: b.io:5000, insecure: true}], registryMappingRules: {quay.io: a.io/x, gcr.io: \"b.io:5000/g\"}}}";
    let options = Options { node_config: Some(node_config(Format::K3s)), ..OPTIONS };
    let import = import::palette(user_data, &options).unwrap();
    let document = yaml(&import.node_config.unwrap());
    let files = document["stages"]["boot"][0]["files"].as_array().unwrap();
    let registries_yaml = yaml(files[0]["content"].as_str().unwrap());
    assert_eq!(
        registries_yaml,
        json!({
            "mirrors": {
                "gcr.io": {"endpoint": ["https://b.io:5000"], "rewrite": {"^(.*)$": "g/$1"}},
                "quay.io": {"endpoint": ["https://a.io"], "rewrite": {"^(.*)$": "x/$1"}},
            },
            "configs": {
                "a.io": {"auth": {"username": "u", "password": "p"}, "tls": {"ca_file": "/etc/rancher/k3s/registry-ca/a.io.crt"}},
                "b.io:5000": {"tls": {"insecure_skip_verify": true}},
            },
        })
    );
    assert_eq!(files[1]["path"], "/etc/rancher/k3s/registry-ca/a.io.crt");
    assert_eq!(files[1]["content"], "PEM1\nPEM2\n");
    // Credentials in the document: readable by root only.
    assert!(files.iter().all(|file| file["permissions"] == 0o600));
}
