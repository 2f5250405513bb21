//! Where `seed` looks for credentials, and which entry applies to a
//! repository: the containers tools' order, path-scoped keys first.

use std::path::PathBuf;

use image_redirect_cli::seed::auth::{Environment, locations, scoped_key};

fn env(registry_auth_file: Option<&str>, xdg: Option<&str>, docker_config: Option<&str>) -> Environment {
    Environment {
        registry_auth_file: registry_auth_file.map(Into::into),
        xdg_runtime_dir: xdg.map(Into::into),
        docker_config: docker_config.map(Into::into),
        home: Some("/home/op".into()),
    }
}

/// A file read, and whether it must exist.
type Read = (&'static str, bool);

#[test]
fn the_files_read_follow_the_containers_tools() {
    let cases: [(&str, Option<&str>, Environment, Vec<Read>); 5] = [
        (
            "--authfile alone",
            Some("/etc/seed/auth.json"),
            env(Some("/env/auth.json"), Some("/run/user/0"), None),
            vec![("/etc/seed/auth.json", true)],
        ),
        (
            "REGISTRY_AUTH_FILE alone",
            None,
            env(Some("/env/auth.json"), Some("/run/user/0"), None),
            vec![("/env/auth.json", true)],
        ),
        (
            "containers' auth.json, then docker's",
            None,
            env(None, Some("/run/user/0"), None),
            vec![("/run/user/0/containers/auth.json", false), ("/home/op/.docker/config.json", false)],
        ),
        (
            "DOCKER_CONFIG moves docker's",
            None,
            env(None, None, Some("/etc/docker-cfg")),
            vec![("/etc/docker-cfg/config.json", false)],
        ),
        ("docker's under HOME", None, env(None, None, None), vec![("/home/op/.docker/config.json", false)]),
    ];
    for (case, authfile, env, expected) in cases {
        let expected: Vec<(PathBuf, bool)> = expected.into_iter().map(|(path, must)| (path.into(), must)).collect();
        assert_eq!(locations(authfile.map(std::path::Path::new), &env), expected, "{case}");
    }
}

#[test]
fn the_longest_key_that_is_a_path_prefix_of_the_repository_applies() {
    let keys: Vec<String> = ["harbor.local/edge", "harbor.local/edge/apps", "harbor.local/edge-old", "quay.io/org/app"]
        .map(String::from)
        .into();
    let cases = [
        ("harbor.local", "edge/apps/nginx", Some("harbor.local/edge/apps")),
        ("harbor.local", "edge/library/nginx", Some("harbor.local/edge")),
        ("harbor.local", "edge-old/nginx", Some("harbor.local/edge-old")),
        ("harbor.local", "edgeway/nginx", None),
        ("harbor.local", "other/nginx", None),
        ("quay.io", "org/app", Some("quay.io/org/app")),
        ("quay.io", "org/application", None),
        ("harbor.local:5000", "edge/nginx", None),
    ];
    for (registry, repository, expected) in cases {
        assert_eq!(scoped_key(&keys, registry, repository), expected, "{registry}/{repository}");
    }
}
