//! The image reference grammar, one line per behaviour.

use image_redirect_policy::reference::{Reference, ReferenceError as E, RegistryPath};

const SHA256: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// 64 lower-case hex characters: what `docker images --no-trunc` shows as an ID.
const IMAGE_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn normalises_like_the_container_runtimes() {
    let digest = format!("nginx@{SHA256}");
    let tagged_digest = format!("nginx:1.27@{SHA256}");
    let everything = format!("localhost:5000/a/b:v1@{SHA256}");
    let sha512 = format!("app@sha512:{}", "a".repeat(128));
    let long_tag = format!("app:{}", "t".repeat(128));
    let (hex_tag, hex_library) = (format!("{IMAGE_ID}:v1"), format!("library/{IMAGE_ID}"));
    let hex_docker_io = format!("docker.io/library/{IMAGE_ID}");
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, String)> = vec![
        ("short_name",               "nginx",                              "docker.io/library/nginx".into()),
        ("short_name_with_tag",      "nginx:1.27",                         "docker.io/library/nginx:1.27".into()),
        ("no_latest_added",          "alpine",                             "docker.io/library/alpine".into()),
        ("user_repository",          "user/app",                           "docker.io/user/app".into()),
        ("user_repository_tag",      "user/app:v1",                        "docker.io/user/app:v1".into()),
        ("docker_io_explicit",       "docker.io/library/nginx:1.27",       "docker.io/library/nginx:1.27".into()),
        ("docker_io_one_segment",    "docker.io/nginx",                    "docker.io/library/nginx".into()),
        ("index_docker_io",          "index.docker.io/library/nginx",      "docker.io/library/nginx".into()),
        ("index_docker_io_short",    "index.docker.io/nginx:1",            "docker.io/library/nginx:1".into()),
        ("index_docker_io_user",     "index.docker.io/user/app",           "docker.io/user/app".into()),
        ("docker_hub_deep_path",     "docker.io/a/b/c",                    "docker.io/a/b/c".into()),
        ("foo_bar_is_docker_hub",    "foo/bar",                            "docker.io/foo/bar".into()),
        ("port_without_slash_is_tag","foo:5000",                           "docker.io/library/foo:5000".into()),
        ("dotted_registry",          "quay.io/kairos/core:v1",             "quay.io/kairos/core:v1".into()),
        ("localhost",                "localhost/app",                      "localhost/app".into()),
        ("localhost_port",           "localhost:5000/a",                   "localhost:5000/a".into()),
        ("ipv4_port",                "10.10.254.254:8000/spectro-images/x:1", "10.10.254.254:8000/spectro-images/x:1".into()),
        ("ipv6_port",                "[::1]:5000/a",                       "[::1]:5000/a".into()),
        ("ipv6_no_port",             "[fd00::1]/a:v2",                     "[fd00::1]/a:v2".into()),
        ("uppercase_registry",       "LOCALREG/a",                         "LOCALREG/a".into()),
        ("hostname_port",            "registry:5000/a",                    "registry:5000/a".into()),
        ("dashed_registry",          "my-registry.example.com/team/app",   "my-registry.example.com/team/app".into()),
        ("digest_kept",              &digest,                              format!("docker.io/library/nginx@{SHA256}")),
        ("tag_and_digest_kept",      &tagged_digest,                       format!("docker.io/library/nginx:1.27@{SHA256}")),
        ("registry_port_tag_digest", &everything,                          format!("localhost:5000/a/b:v1@{SHA256}")),
        ("sha512_digest",            &sha512,                              format!("docker.io/library/app@sha512:{}", "a".repeat(128))),
        ("tag_characters",           "app:V1.2-rc_1",                      "docker.io/library/app:V1.2-rc_1".into()),
        ("tag_of_128",               &long_tag,                            format!("docker.io/library/{long_tag}")),
        ("path_separators",          "a__b/c-d/e---f/g.h_i:t",             "docker.io/a__b/c-d/e---f/g.h_i:t".into()),
        ("numeric_components",       "0/1:2",                              "docker.io/0/1:2".into()),
        ("image_id_with_tag_is_a_name", &hex_tag,                          format!("docker.io/library/{hex_tag}")),
        ("image_id_under_library",   &hex_library,                         format!("docker.io/{hex_library}")),
        ("image_id_under_docker_io", &hex_docker_io,                       hex_docker_io.clone()),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, input, expected)| match Reference::parse(input) {
            Ok(reference) if reference.to_string() == *expected => None,
            other => Some(format!("{name}: {input:?} gave {other:?}, expected {expected}")),
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn rejects_what_the_runtimes_reject() {
    let long_tag = format!("app:{}", "t".repeat(129));
    let long_name = "a".repeat(240);
    let short_digest = "nginx@sha256:abc".to_owned();
    let upper_digest = format!("nginx@{}", SHA256.to_uppercase().replace("SHA256", "sha256"));
    let md5 = format!("nginx@md5:{}", "a".repeat(32));
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, E)> = vec![
        ("empty",                 "",                    E::Empty),
        ("leading_space",         " nginx",              E::Path),
        ("trailing_space",        "nginx ",              E::Path),
        ("inner_space",           "ng inx",              E::Path),
        ("tab",                   "nginx\t:1",           E::Path),
        ("uppercase_short_name",  "Nginx",               E::Uppercase),
        ("uppercase_repository",  "quay.io/Org/app",     E::Uppercase),
        ("non_ascii_path",        "ng\u{ef}nx",          E::Path),
        ("non_ascii_tag",         "nginx:\u{e4}",        E::Tag),
        ("empty_tag",             "nginx:",              E::Tag),
        ("tag_starting_with_dash","nginx:-x",            E::Tag),
        ("tag_of_129",            &long_tag,             E::TagTooLong),
        ("name_over_255",         &long_name,            E::NameTooLong),
        ("digest_too_short",      &short_digest,         E::Digest),
        ("digest_upper_hex",      &upper_digest,         E::Digest),
        ("digest_without_colon",  "nginx@sha256",        E::Digest),
        ("digest_empty",          "nginx@",              E::Digest),
        ("digest_algorithm",      &md5,                  E::DigestAlgorithm),
        ("double_slash",          "docker.io//nginx",    E::Path),
        ("trailing_slash",        "nginx/",              E::Path),
        ("leading_slash",         "/nginx",              E::Path),
        ("double_dot",            "a..b",                E::Path),
        ("leading_separator",     "_a",                  E::Path),
        ("triple_underscore",     "a___b",               E::Path),
        ("port_not_numeric",      "localhost:abc/a",     E::Port),
        ("port_empty",            "localhost:/a",        E::Port),
        ("host_leading_dash",     "-bad.io/a",           E::Registry),
        ("host_empty_label",      "bad..io/a",           E::Registry),
        ("host_underscore",       "bad_host.io/a",       E::Registry),
        ("ipv6_unclosed",         "[::1/a",              E::Registry),
        ("ipv6_not_hex",          "[::g]:5000/a",        E::Registry),
        ("only_port",             ":5000/a",             E::Registry),
        ("bare_image_id",         IMAGE_ID,              E::ImageId),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, input, expected)| match Reference::parse(input) {
            Err(error) if error == *expected => None,
            other => Some(format!("{name}: {input:?} gave {other:?}, expected {expected:?}")),
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn exposes_its_parts() {
    #[rustfmt::skip]
    let cases = [
        // (input, registry, path, tag, digest)
        ("nginx",                  "docker.io",      "library/nginx", None,       None),
        ("localhost:5000/a/b:v1",  "localhost:5000", "a/b",           Some("v1"), None),
        ("[::1]:5000/a",           "[::1]:5000",     "a",             None,       None),
        ("quay.io/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                   "quay.io",        "x",             None,       Some(SHA256)),
    ];
    for (input, registry, path, tag, digest) in cases {
        let reference = Reference::parse(input).unwrap();
        assert_eq!(
            (reference.registry(), reference.path(), reference.tag(), reference.digest()),
            (registry, path, tag, digest),
            "{input}"
        );
    }
}

#[test]
fn error_messages_read_as_sentences() {
    assert_eq!(E::Uppercase.to_string(), "uppercase letters are not allowed");
    assert_eq!(E::TagTooLong.to_string(), "the tag is longer than 128 characters");
    assert_eq!(E::DigestAlgorithm.to_string(), "the digest algorithm is not sha256, sha384 or sha512");
}

#[test]
fn registry_paths_name_places_not_images() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, Result<&str, E>)] = &[
        ("registry_only",          "docker.io",                   Ok("docker.io")),
        ("registry_and_path",      "harbor.edge.local/dockerhub", Ok("harbor.edge.local/dockerhub")),
        ("port_and_path",          "10.10.254.254:8000/spectro-images", Ok("10.10.254.254:8000/spectro-images")),
        ("ipv6",                   "[fd00::1]:5000/mirror",       Ok("[fd00::1]:5000/mirror")),
        ("localhost",              "localhost",                   Ok("localhost")),
        ("legacy_hub_normalised",  "index.docker.io/library",     Ok("docker.io/library")),
        ("empty",                  "",                            Err(E::Empty)),
        ("uppercase",              "Harbor.local/x",              Err(E::Uppercase)),
        ("tag",                    "docker.io/nginx:1.27",        Err(E::TagNotAllowed)),
        ("tag_without_path",       "nginx:latest",                Err(E::TagNotAllowed)),
        ("digest",                 "quay.io/x@sha256:00",         Err(E::DigestNotAllowed)),
        ("not_a_registry",         "harbor/dockerhub",            Err(E::NotARegistry)),
        ("trailing_slash",         "docker.io/",                  Err(E::Path)),
        ("bad_host",               "bad_host.io/x",               Err(E::Registry)),
        ("bad_path",               "quay.io/a..b",                Err(E::Path)),
    ];
    for (name, input, expected) in cases {
        let parsed = RegistryPath::parse(input);
        assert_eq!(parsed.as_ref().map(RegistryPath::as_str).map_err(|e| *e), *expected, "{name}");
    }
}
